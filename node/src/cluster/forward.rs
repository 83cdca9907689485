//! Passes a client request to the node that owns its connection, so no sticky sessions are
//! needed: a long poll, an SSE stream, a send or a close may land on any node.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use futures_util::StreamExt;
use herald_proto::backplane::NodeRecord;
use herald_proto::ids::NodeId;

use super::Cluster;
use crate::http::error::ApiError;
use crate::http::limited_body::read_limited;
use crate::metrics::Metrics;

/// Marks a forwarded request, so it is never forwarded twice.
pub const FORWARDED_HEADER: &str = "x-herald-forwarded-by";
/// Largest client send forwarded (the transport's own limit).
const MAX_FORWARDED_BODY: usize = 1024 * 1024;

/// Headers that describe one hop and are not passed on.
const HOP_HEADERS: &[&str] = &[
    "connection",
    "keep-alive",
    "transfer-encoding",
    "upgrade",
    "host",
    "content-length",
];

/// Forwards `req` to `owner` and streams the answer back.
pub async fn forward(
    cluster: &Cluster,
    client: &reqwest::Client,
    metrics: &Metrics,
    req: &HttpRequest,
    payload: web::Payload,
    owner: &NodeId,
    timeout: std::time::Duration,
) -> Result<HttpResponse, ApiError> {
    let record = locate(cluster, metrics, req, owner, timeout).await?;
    let url = format!(
        "{}{}",
        record.url.trim_end_matches('/'),
        req.uri().path_and_query().map_or("/", |p| p.as_str())
    );
    let method = reqwest::Method::from_bytes(req.method().as_str().as_bytes())
        .map_err(|_| ApiError::bad_request("unsupported method"))?;
    let mut request = client
        .request(method, &url)
        .header(FORWARDED_HEADER, cluster.node().as_str());
    for (name, value) in req.headers() {
        if !HOP_HEADERS.contains(&name.as_str()) {
            request = request.header(name.as_str(), value.as_bytes());
        }
    }
    if req.method() == actix_web::http::Method::POST {
        let body = read_limited(req, payload, MAX_FORWARDED_BODY, "the 1 MiB send limit").await?;
        request = request.body(body.to_vec());
    }
    let response = request.send().await.map_err(|e| {
        metrics.forwarded("error");
        ApiError::new(
            StatusCode::BAD_GATEWAY,
            "ForwardFailed",
            format!("could not reach node {owner} at {}: {e}", record.url),
        )
    })?;
    metrics.forwarded("ok");
    let status =
        StatusCode::from_u16(response.status().as_u16()).unwrap_or(StatusCode::BAD_GATEWAY);
    let mut answer = HttpResponse::build(status);
    for (name, value) in response.headers() {
        if !HOP_HEADERS.contains(&name.as_str()) {
            answer.insert_header((name.as_str(), value.as_bytes()));
        }
    }
    let body = response
        .bytes_stream()
        .map(|chunk| chunk.map_err(actix_web::error::ErrorBadGateway));
    Ok(answer.streaming(body))
}

/// Finds the owner's registry record (never for a request that was forwarded already).
pub async fn locate(
    cluster: &Cluster,
    metrics: &Metrics,
    req: &HttpRequest,
    owner: &NodeId,
    timeout: std::time::Duration,
) -> Result<NodeRecord, ApiError> {
    if req.headers().contains_key(FORWARDED_HEADER) {
        return Err(ApiError::not_found(
            "no such connection on the node its id names; negotiate again",
        ));
    }
    let Some(store) = cluster.store() else {
        return Err(ApiError::not_found(
            "no such connection on this node; negotiate again",
        ));
    };
    let lookup = tokio::time::timeout(timeout, store.node(owner.as_str()));
    let record = match lookup.await {
        Ok(Ok(Some(record))) => record,
        Ok(Ok(None)) => {
            metrics.forwarded("owner_gone");
            return Err(ApiError::not_found(format!(
                "node {owner}, which owned this connection, is gone; negotiate again"
            )));
        }
        Ok(Err(e)) => {
            return Err(ApiError::unavailable(format!(
                "cannot look up node {owner}: {e}"
            )));
        }
        Err(_) => {
            return Err(ApiError::unavailable(format!(
                "redis did not answer within {timeout:?} while looking up node {owner}; retry later"
            )));
        }
    };
    Ok(record)
}
