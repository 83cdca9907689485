//! The admin token: every `/api/admin/*` request carries `Authorization: Bearer <admin.token>`
//! when one is configured; without one, reads are open and mutating calls are refused. Used by
//! the node's and the coordinator's admin listeners alike: each registers an [`AdminToken`].

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::Method;
use actix_web::middleware::Next;
use actix_web::{HttpResponse, web};
use sha2::{Digest, Sha256};

use crate::config::{Config, SecretText};

/// The `admin.token` an admin listener checks (app data of its `App`).
#[derive(Clone)]
pub struct AdminToken(pub Option<SecretText>);

impl AdminToken {
    /// The configured token; warns when the admin listener is reachable from other hosts and
    /// has none.
    pub fn from_config(config: &Config) -> Self {
        if config.admin.token.is_none() && !config.admin_listen.ip().is_loopback() {
            tracing::warn!(
                admin = %config.admin_listen,
                "the admin listener is not on a loopback address and has no admin.token: anyone who reaches it can read the cluster's state; set admin.token (HERALD_ADMIN_TOKEN)"
            );
        }
        Self(config.admin.token.clone())
    }
}

/// Whether `given` equals `expected`, in time independent of where they differ (both are
/// hashed first, so the lengths do not show either).
pub fn tokens_match(given: &str, expected: &str) -> bool {
    let (a, b) = (Sha256::digest(given), Sha256::digest(expected));
    a.iter()
        .zip(b.iter())
        .fold(0u8, |acc, (x, y)| acc | (x ^ y))
        == 0
}

/// The middleware of the `/api/admin` scope.
pub async fn require_token(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let Some(token) = req.app_data::<web::Data<AdminToken>>().cloned() else {
        return Ok(req.into_response(error(
            HttpResponse::InternalServerError(),
            "Internal",
            "the admin token setting is missing",
        )));
    };
    let mutating = req.method() != Method::GET && req.method() != Method::HEAD;
    match &token.0 {
        Some(token) => {
            let given = req
                .headers()
                .get(actix_web::http::header::AUTHORIZATION)
                .and_then(|v| v.to_str().ok())
                .and_then(crate::auth::bearer_token);
            match given {
                Some(given) if tokens_match(given, token.expose()) => {}
                Some(_) => {
                    return Ok(req.into_response(error(
                        HttpResponse::Unauthorized(),
                        "Unauthorized",
                        "the admin token is wrong: send Authorization: Bearer <admin.token>",
                    )));
                }
                None => {
                    return Ok(req.into_response(error(
                        HttpResponse::Unauthorized(),
                        "Unauthorized",
                        "the admin API needs Authorization: Bearer <admin.token>",
                    )));
                }
            }
        }
        None if mutating => {
            return Ok(req.into_response(error(
                HttpResponse::Forbidden(),
                "Forbidden",
                "the admin API is read-only without a token: set admin.token (HERALD_ADMIN_TOKEN) on every node to enable drain and undrain",
            )));
        }
        None => {}
    }
    Ok(next.call(req).await?.map_into_boxed_body())
}

fn error(mut builder: actix_web::HttpResponseBuilder, code: &str, message: &str) -> HttpResponse {
    let mut response = builder.json(serde_json::json!({ "code": code, "message": message }));
    if code == "Unauthorized" {
        response.headers_mut().insert(
            actix_web::http::header::WWW_AUTHENTICATE,
            actix_web::http::header::HeaderValue::from_static("Bearer realm=\"herald-admin\""),
        );
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_match_only_when_equal() {
        assert!(tokens_match("s3cret", "s3cret"));
        assert!(!tokens_match("s3cre", "s3cret"));
        assert!(!tokens_match("S3cret", "s3cret"));
        assert!(!tokens_match("", "s3cret"));
    }
}
