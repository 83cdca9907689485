//! Writing your own documents into the embedded Cosmos DB account (standalone mode only):
//!
//! `POST /api/embedded/dbs/{database}/colls/{container}/docs` with a JSON object body creates
//! or replaces that document (Cosmos DB's upsert); it then flows through the container's
//! change feed like any write. The path mirrors Cosmos DB's own resource paths. Authorized like
//! the REST API: with an access key configured, a bearer token whose audience is this URL
//! (`herald write` mints one). Answers `200 {"id": ...}`, or a JSON error: 400 for a document
//! the container cannot store, 404 for a container the account does not have, 413 beyond
//! `rest.max_body_size`.

use std::sync::Arc;

use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::{Value, json};

use super::super::feed::cosmos::{EmbeddedCosmos, EmbeddedError};
use crate::http::AppState;
use crate::http::error::ApiError;
use crate::http::limited_body::read_limited;

/// The path of the write endpoint for `database`/`container`.
pub fn path(database: &str, container: &str) -> String {
    format!("/api/embedded/dbs/{database}/colls/{container}/docs")
}

/// Registers the endpoint when there is an embedded account.
pub fn configure(cfg: &mut web::ServiceConfig, embedded: Option<Arc<EmbeddedCosmos>>) {
    let Some(embedded) = embedded else {
        return;
    };
    cfg.app_data(web::Data::from(embedded)).route(
        "/api/embedded/dbs/{database}/colls/{container}/docs",
        web::post().to(write),
    );
}

async fn write(
    req: HttpRequest,
    payload: web::Payload,
    path: web::Path<(String, String)>,
    state: web::Data<AppState>,
    embedded: web::Data<EmbeddedCosmos>,
) -> Result<HttpResponse, ApiError> {
    crate::http::rest::authorize_caller(&req, &state)?;
    let (database, container) = path.into_inner();
    let body = read_limited(
        &req,
        payload,
        state.config.rest.max_body_size,
        "rest.max_body_size",
    )
    .await?;
    let document: Value = serde_json::from_slice(&body).map_err(|e| {
        ApiError::bad_request(format!("the body is not JSON ({e}): send one JSON object"))
    })?;
    let id = document.get("id").cloned().unwrap_or(Value::Null);
    let handle = embedded
        .container(&database, &container)
        .await
        .map_err(|e| ApiError::not_found(e.to_string()))?;
    handle.upsert(document).await.map_err(|e| match e {
        EmbeddedError::BadDocument(_) => ApiError::bad_request(e.to_string()),
        other => ApiError::unavailable(other.to_string()),
    })?;
    tracing::debug!(%database, %container, %id, "document written to the embedded account");
    Ok(HttpResponse::Ok().json(json!({ "id": id })))
}

/// `herald write`: sends `document` to the write endpoint of the standalone Herald at `base`
/// (e.g. `http://127.0.0.1:8080`) for `database`/`container`, with a REST token when
/// `config` has an access key; returns the answer's body.
pub async fn write_remote(
    config: &crate::config::Config,
    base: &str,
    database: &str,
    container: &str,
    document: &str,
) -> anyhow::Result<String> {
    use anyhow::Context as _;
    let parsed: Value = serde_json::from_str(document)
        .context("the document is not JSON: give one JSON object, such as '{\"id\":\"MSFT\",\"symbol\":\"MSFT\",\"price\":431.2}'")?;
    let path = path(database, container);
    let url = format!("{}{path}", base.trim_end_matches('/'));
    let mut request = reqwest::Client::new()
        .post(&url)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .body(parsed.to_string());
    let auth = crate::auth::Authenticator::from_config(config);
    if !auth.is_anonymous() {
        let token = auth
            .mint_rest_token(&path, std::time::Duration::from_secs(300))
            .context("cannot mint a REST token from the configured access key")?;
        request = request.bearer_auth(token);
    }
    let response = request.send().await.with_context(|| {
        format!("cannot reach {url}: is `herald` (standalone) running there? (--url)")
    })?;
    let status = response.status();
    let body = response.text().await.unwrap_or_default();
    if !status.is_success() {
        anyhow::bail!("{url} answered {status}: {body}");
    }
    Ok(body)
}
