//! REST request bodies and query parameters.

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

/// Parses a JSON send body.
pub fn parse_send_body(body: &[u8]) -> Result<SendBody, ApiError> {
    if body.is_empty() {
        return Err(ApiError::bad_request(
            r#"missing request body: send {"target": "method", "arguments": [...]}"#,
        ));
    }
    let parsed: SendBody = serde_json::from_slice(body).map_err(|e| {
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
