//! Reading request bodies with a size limit, answering 413 beyond it.

use actix_web::{HttpRequest, web};
use futures_util::StreamExt;

use super::error::ApiError;

/// Reads the whole body, refusing more than `limit` bytes (early when Content-Length says so).
/// `setting` names the config key of the limit, for the error text.
pub async fn read_limited(
    req: &HttpRequest,
    mut payload: web::Payload,
    limit: usize,
    setting: &str,
) -> Result<web::Bytes, ApiError> {
    let too_large = |size: usize| {
        ApiError::too_large(format!(
            "request body of {size} bytes exceeds the {limit}-byte limit ({setting})"
        ))
    };
    let declared = req
        .headers()
        .get(actix_web::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if let Some(len) = declared.filter(|len| *len > limit) {
        return Err(too_large(len));
    }
    let mut body = web::BytesMut::with_capacity(declared.unwrap_or(0).min(limit));
    while let Some(chunk) = payload.next().await {
        let chunk = chunk
            .map_err(|e| ApiError::bad_request(format!("could not read the request body: {e}")))?;
        if body.len() + chunk.len() > limit {
            return Err(too_large(body.len() + chunk.len()));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body.freeze())
}
