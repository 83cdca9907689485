//! The operators' dashboard at `/` of the admin listener: a static page whose script reads
//! `GET /api/admin/cluster` every 2 s (node/docs/admin-api.md) and draws nodes, leases, feeds,
//! the coordinator leader, traffic charts and the problems list.
//!
//! The page and its two files hold no data, so they are served without the admin token; every
//! API request of the script carries the token (`Authorization: Bearer`) when the operator has
//! given one, and a `401` makes the page ask for it.

use actix_web::http::header;
use actix_web::{HttpResponse, guard, web};

/// Browsers revalidate on every load, so a page of a new build never runs an old script.
const CACHE_CONTROL: &str = "no-cache";
/// The page talks to its own origin only and runs no inline script or style; its icon is an
/// empty `data:` URL so browsers do not ask for a `/favicon.ico` that is not there.
const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; connect-src 'self'; \
     img-src 'self' data:; object-src 'none'; base-uri 'none'; form-action 'none'; \
     frame-ancestors 'none'";

/// One file of the page, compiled into the binary.
struct Asset {
    content_type: &'static str,
    body: &'static str,
}

const INDEX: Asset = Asset {
    content_type: "text/html; charset=utf-8",
    body: include_str!("dashboard/index.html"),
};
const SCRIPT: Asset = Asset {
    content_type: "text/javascript; charset=utf-8",
    body: include_str!("dashboard/dashboard.js"),
};
const STYLE: Asset = Asset {
    content_type: "text/css; charset=utf-8",
    body: include_str!("dashboard/dashboard.css"),
};

/// Registers `GET` (and `HEAD`) of `/`, `/dashboard.js` and `/dashboard.css`.
pub fn configure(cfg: &mut web::ServiceConfig) {
    let get_or_head = || web::route().guard(guard::Any(guard::Get()).or(guard::Head()));
    cfg.route("/", get_or_head().to(|| async { serve(&INDEX) }))
        .route(
            "/dashboard.js",
            get_or_head().to(|| async { serve(&SCRIPT) }),
        )
        .route(
            "/dashboard.css",
            get_or_head().to(|| async { serve(&STYLE) }),
        );
}

fn serve(asset: &Asset) -> HttpResponse {
    HttpResponse::Ok()
        .content_type(asset.content_type)
        .insert_header((header::CACHE_CONTROL, CACHE_CONTROL))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .insert_header((header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY))
        .body(asset.body)
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::App;
    use actix_web::test::{TestRequest, call_service, init_service, read_body};

    #[actix_web::test]
    async fn serves_the_page_and_its_files_uncached() {
        let app = init_service(App::new().configure(configure)).await;
        for (path, content_type, asset) in [
            ("/", "text/html; charset=utf-8", &INDEX),
            ("/dashboard.js", "text/javascript; charset=utf-8", &SCRIPT),
            ("/dashboard.css", "text/css; charset=utf-8", &STYLE),
        ] {
            let response = call_service(&app, TestRequest::get().uri(path).to_request()).await;
            assert_eq!(response.status(), 200, "{path}");
            let value = |name| {
                response
                    .headers()
                    .get(name)
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_owned)
            };
            assert_eq!(
                value(header::CONTENT_TYPE).as_deref(),
                Some(content_type),
                "{path}"
            );
            assert_eq!(
                value(header::CACHE_CONTROL).as_deref(),
                Some("no-cache"),
                "{path}"
            );
            let body = read_body(response).await;
            assert_eq!(body, asset.body.as_bytes(), "{path}");
        }
    }

    #[actix_web::test]
    async fn other_methods_and_paths_are_not_served() {
        let app = init_service(App::new().configure(configure)).await;
        let post = TestRequest::post().uri("/").to_request();
        assert_eq!(call_service(&app, post).await.status(), 404);
        let other = TestRequest::get().uri("/dashboard.map").to_request();
        assert_eq!(call_service(&app, other).await.status(), 404);
    }

    #[test]
    fn the_page_has_the_hooks_the_script_and_tests_use() {
        for hook in [
            "id=\"nodes\"",
            "id=\"leases\"",
            "id=\"feeds\"",
            "id=\"leader\"",
            "id=\"problems\"",
            "id=\"updated\"",
            "id=\"refreshes\"",
            "id=\"error\"",
            "id=\"login\"",
            "name=\"token\"",
            "id=\"chart-in\"",
            "id=\"chart-out\"",
            "id=\"chart-changes\"",
            "src=\"dashboard.js\"",
            "href=\"dashboard.css\"",
        ] {
            assert!(INDEX.body.contains(hook), "index.html lacks {hook}");
        }
        assert!(SCRIPT.body.contains("\"api/admin/cluster\""));
        assert!(SCRIPT.body.contains("\"herald.adminToken\""));
    }
}
