//! [`UpstreamContext`]: who the event is about, and how that becomes `X-ASRS-*` headers.
//!
//! Formats follow Azure's emulator (and what the Functions trigger parses):
//! - `X-ASRS-User-Id`: only when the connection has a user;
//! - `X-ASRS-User-Claims`: .NET `Claim.ToString()` of each claim (`type: value`), joined with
//!   `, `; a claim whose value is an array is one claim per item, as .NET's JWT handler
//!   reads it; only when there are claims;
//! - `X-ASRS-Client-Query`: the query of the client's connect request with its leading `?`
//!   (ASP.NET's `QueryString.ToString()`); only when there is one.

use herald_proto::ids::{ConnectionId, HubName};
use serde_json::{Map, Value};

/// The connection an upstream event belongs to; built by the session, read-only here.
#[derive(Debug, Clone, PartialEq)]
pub struct UpstreamContext {
    /// The hub the client connected to: `{hub}` and `X-ASRS-Hub`.
    pub hub: HubName,
    /// `X-ASRS-Connection-Id`, and what the signature signs.
    pub connection_id: ConnectionId,
    /// The authenticated user (the token's user claim), if any: `X-ASRS-User-Id`.
    pub user_id: Option<String>,
    /// The claims of the client's token, sent so the upstream can authorize without
    /// re-validating the token: `X-ASRS-User-Claims`.
    pub claims: Map<String, Value>,
    /// The query string of the client's connect request, with or without its leading `?`
    /// (callers should drop `access_token`, which the upstream has no use for).
    pub client_query: String,
}

impl UpstreamContext {
    /// `X-ASRS-User-Id`, when there is a non-empty user id.
    pub(crate) fn user_id_header(&self) -> Option<String> {
        self.user_id
            .as_deref()
            .filter(|id| !id.is_empty())
            .map(header_text)
    }

    /// `X-ASRS-User-Claims`, when there are claims with values.
    pub(crate) fn claims_header(&self) -> Option<String> {
        let mut parts = Vec::new();
        for (name, value) in &self.claims {
            match value {
                Value::Array(items) => {
                    parts.extend(items.iter().filter_map(|v| claim(name, v)));
                }
                single => parts.extend(claim(name, single)),
            }
        }
        (!parts.is_empty()).then(|| header_text(&parts.join(", ")))
    }

    /// `X-ASRS-Client-Query`, with a leading `?`, when there is a query.
    pub(crate) fn client_query_header(&self) -> Option<String> {
        let query = self.client_query.trim();
        let query = query.strip_prefix('?').unwrap_or(query);
        (!query.is_empty()).then(|| header_text(&format!("?{query}")))
    }
}

/// `type: value` for one claim value; `None` for null.
fn claim(name: &str, value: &Value) -> Option<String> {
    match value {
        Value::Null => None,
        Value::String(text) => Some(format!("{name}: {text}")),
        other => Some(format!("{name}: {other}")),
    }
}

/// Makes any text a valid header value: control characters (CR, LF, ...) become spaces.
/// Non-ASCII stays as UTF-8 bytes, which HTTP allows as `obs-text`.
pub(crate) fn header_text(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn context(user: Option<&str>, claims: Value, query: &str) -> UpstreamContext {
        let Value::Object(claims) = claims else {
            panic!("claims must be an object")
        };
        UpstreamContext {
            hub: "chat".parse().unwrap(),
            connection_id: "abc.node-1".parse().unwrap(),
            user_id: user.map(str::to_owned),
            claims,
            client_query: query.to_owned(),
        }
    }

    #[test]
    fn optional_headers_are_absent_when_empty() {
        let c = context(None, json!({}), "");
        assert_eq!(c.user_id_header(), None);
        assert_eq!(c.claims_header(), None);
        assert_eq!(c.client_query_header(), None);
        let c = context(Some(""), json!({"x": null}), "?");
        assert_eq!(c.user_id_header(), None);
        assert_eq!(c.claims_header(), None);
        assert_eq!(c.client_query_header(), None);
    }

    #[test]
    fn headers_render_like_dotnet() {
        let c = context(
            Some("alice\r\nX-Evil: 1"),
            json!({"n": 5, "ok": true, "role": ["admin", "dev"], "sub": "alice"}),
            "hub=chat&id=1",
        );
        assert_eq!(c.user_id_header().as_deref(), Some("alice  X-Evil: 1"));
        assert_eq!(
            c.claims_header().as_deref(),
            Some("n: 5, ok: true, role: admin, role: dev, sub: alice")
        );
        assert_eq!(c.client_query_header().as_deref(), Some("?hub=chat&id=1"));
        let c = context(None, json!({}), "?a=1");
        assert_eq!(c.client_query_header().as_deref(), Some("?a=1"));
    }
}
