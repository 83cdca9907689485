//! The demo's HTTP routes: the page at `/` and its files at `/demo/{file}`, registered only in
//! standalone mode.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, guard, web};

use super::assets::{self, Asset};
use crate::http::error::ApiError;
use crate::server::Mode;

/// Browsers revalidate on every load (a 304 when the `ETag` matches), so a page of a new build
/// never runs with scripts of an old one.
const CACHE_CONTROL: &str = "no-cache";
/// The page loads and connects to its own origin only (WebSockets to it included); its icon
/// is an empty `data:` URL, so browsers do not ask for a `/favicon.ico` that is not there.
const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; connect-src 'self' ws: wss:; \
     img-src 'self' data:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'";

/// Registers the demo routes (`GET` and `HEAD`) when `mode` is standalone; a cluster node
/// serves no page.
pub fn configure(cfg: &mut web::ServiceConfig, mode: Mode) {
    if mode != Mode::Standalone {
        return;
    }
    let get_or_head = || web::route().guard(guard::Any(guard::Get()).or(guard::Head()));
    cfg.route("/", get_or_head().to(index))
        .route("/demo/{file}", get_or_head().to(file));
}

async fn index(req: HttpRequest) -> HttpResponse {
    serve(&req, assets::INDEX)
}

async fn file(req: HttpRequest, name: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let asset = assets::find(&name).ok_or_else(|| {
        ApiError::not_found(format!(
            "the demo has no file {:?}; the page is at /",
            name.as_str()
        ))
    })?;
    Ok(serve(&req, asset))
}

/// The asset, or 304 when the request's `If-None-Match` names its current `ETag`.
fn serve(req: &HttpRequest, asset: Asset) -> HttpResponse {
    let etag = asset.etag();
    let unchanged = req
        .headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| lists_tag(v, &etag));
    let mut response = if unchanged {
        HttpResponse::NotModified()
    } else {
        HttpResponse::Ok()
    };
    response
        .insert_header((header::ETAG, etag))
        .insert_header((header::CACHE_CONTROL, CACHE_CONTROL))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"));
    if asset == assets::INDEX {
        response.insert_header((header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY));
    }
    if unchanged {
        response.finish()
    } else {
        response.content_type(asset.content_type).body(asset.body)
    }
}

/// Whether an `If-None-Match` value lists `etag` (weak comparison, as the header asks) or is `*`.
fn lists_tag(if_none_match: &str, etag: &str) -> bool {
    if_none_match
        .split(',')
        .map(str::trim)
        .any(|tag| tag == "*" || tag.trim_start_matches("W/") == etag)
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::body::to_bytes;
    use actix_web::test::TestRequest;

    #[test]
    fn if_none_match_lists_are_compared_weakly() {
        let tag = "\"abc\"";
        assert!(lists_tag("\"abc\"", tag));
        assert!(lists_tag("W/\"abc\"", tag));
        assert!(lists_tag("\"x\", \"abc\"", tag));
        assert!(lists_tag("*", tag));
        assert!(!lists_tag("\"abcd\"", tag));
        assert!(!lists_tag("abc", tag));
        assert!(!lists_tag("", tag));
    }

    #[actix_web::test]
    async fn the_page_is_html_with_a_validator_and_a_policy() {
        let response = serve(
            &TestRequest::get().uri("/").to_http_request(),
            assets::INDEX,
        );
        assert_eq!(response.status(), 200);
        let value = |name| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        assert_eq!(
            value(header::CONTENT_TYPE).as_deref(),
            Some("text/html; charset=utf-8")
        );
        assert_eq!(value(header::CACHE_CONTROL).as_deref(), Some("no-cache"));
        assert_eq!(value(header::ETAG), Some(assets::INDEX.etag()));
        assert!(value(header::CONTENT_SECURITY_POLICY).is_some());
        let body = to_bytes(response.into_body()).await.unwrap_or_default();
        assert_eq!(body.as_ref(), assets::INDEX.body);
    }

    #[actix_web::test]
    async fn a_matching_validator_gets_304_without_a_body() {
        let asset = assets::FILES[2];
        let request = TestRequest::get()
            .insert_header((header::IF_NONE_MATCH, asset.etag()))
            .to_http_request();
        let response = serve(&request, asset);
        assert_eq!(response.status(), 304);
        assert!(
            !response
                .headers()
                .contains_key(header::CONTENT_SECURITY_POLICY)
        );
        let body = to_bytes(response.into_body()).await.unwrap_or_default();
        assert!(body.is_empty());
    }
}
