//! REST request bodies and query parameters.

use actix_web::web;
use futures_util::StreamExt;
use serde::Deserialize;

use crate::http::error::ApiError;

/// Longest user id or group name accepted (Azure SignalR Service's limit for group names).
pub const MAX_NAME_LEN: usize = 1024;

/// The body of every send: the client method and its arguments.
#[derive(Debug, Deserialize)]
pub struct SendBody {
    /// The client method to invoke.
    pub target: String,
    /// Its arguments.
    #[serde(default)]
    pub arguments: Vec<serde_json::Value>,
}

/// Reads a JSON send body of at most `limit` bytes.
pub async fn read_send_body(
    mut payload: web::Payload,
    content_length: Option<usize>,
    limit: usize,
) -> Result<SendBody, ApiError> {
    let too_large = |size: usize| {
        ApiError::too_large(format!(
            "request body of {size} bytes exceeds the {limit}-byte limit (rest.max_body_size)"
        ))
    };
    if let Some(len) = content_length.filter(|len| *len > limit) {
        return Err(too_large(len));
    }
    let mut body = web::BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk
            .map_err(|e| ApiError::bad_request(format!("could not read the request body: {e}")))?;
        if body.len() + chunk.len() > limit {
            return Err(too_large(body.len() + chunk.len()));
        }
        body.extend_from_slice(&chunk);
    }
    if body.is_empty() {
        return Err(ApiError::bad_request(
            r#"missing request body: send {"target": "method", "arguments": [...]}"#,
        ));
    }
    let parsed: SendBody = serde_json::from_slice(&body).map_err(|e| {
        ApiError::bad_request(format!(
            r#"invalid body, expected {{"target": "method", "arguments": [...]}}: {e}"#
        ))
    })?;
    if parsed.target.trim().is_empty() {
        return Err(ApiError::bad_request(
            "'target' must name the client method to invoke",
        ));
    }
    Ok(parsed)
}

/// Checks a user id or group name from a path.
pub fn check_name<'a>(kind: &str, value: &'a str) -> Result<&'a str, ApiError> {
    if value.is_empty() || value.len() > MAX_NAME_LEN {
        return Err(ApiError::bad_request(format!(
            "{kind} must be 1 to {MAX_NAME_LEN} characters"
        )));
    }
    Ok(value)
}

/// Parses the optional `ttl` query parameter (seconds) of user-group membership.
pub fn parse_ttl(raw: Option<String>) -> Result<Option<std::time::Duration>, ApiError> {
    match raw {
        None => Ok(None),
        Some(v) => match v.parse::<u64>() {
            Ok(secs) if secs > 0 => Ok(Some(std::time::Duration::from_secs(secs))),
            _ => Err(ApiError::bad_request(format!(
                "ttl must be a positive whole number of seconds, got '{v}'"
            ))),
        },
    }
}
