//! The SignalR pieces the load generator speaks: negotiate, the JSON handshake and the ping.

/// The record separator that ends every JSON hub message.
pub const RS: u8 = 0x1e;

/// The handshake request for the JSON protocol.
pub const HANDSHAKE: &[u8] = b"{\"protocol\":\"json\",\"version\":1}\x1e";

/// The ping message clients send every 15 s so the server does not time them out.
pub const PING: &[u8] = b"{\"type\":6}\x1e";

/// The negotiate request path for the benchmark hub (negotiate version 1).
pub fn negotiate_path(hub: &str) -> String {
    format!("/client/negotiate?hub={hub}&negotiateVersion=1")
}

/// The WebSocket path for connection token `token`.
pub fn connect_path(hub: &str, token: &str) -> String {
    format!("/client/?hub={hub}&id={token}")
}

/// The connection token of a negotiate v1 response body (`connectionId` for v0).
pub fn connection_token(body: &[u8]) -> Option<String> {
    let value: serde_json::Value = serde_json::from_slice(body).ok()?;
    value
        .get("connectionToken")
        .or_else(|| value.get("connectionId"))
        .and_then(|v| v.as_str())
        .map(str::to_owned)
}

/// Whether a handshake response record (without its separator) accepts the handshake: `{}`.
pub fn handshake_accepted(record: &[u8]) -> bool {
    serde_json::from_slice::<serde_json::Value>(record)
        .ok()
        .and_then(|v| v.as_object().map(|o| !o.contains_key("error")))
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn negotiate_token_v1_and_v0() {
        assert_eq!(
            connection_token(br#"{"negotiateVersion":1,"connectionId":"a","connectionToken":"b"}"#),
            Some("b".to_owned())
        );
        assert_eq!(
            connection_token(br#"{"connectionId":"a"}"#),
            Some("a".to_owned())
        );
        assert_eq!(connection_token(b"not json"), None);
    }

    #[test]
    fn handshake_response() {
        assert!(handshake_accepted(b"{}"));
        assert!(!handshake_accepted(br#"{"error":"nope"}"#));
        assert!(!handshake_accepted(b"]"));
    }
}
