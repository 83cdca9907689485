//! The bodies of upstream requests, byte for byte what Azure's emulator sends.
//!
//! - connected: `{"type":10}` as `application/json`;
//! - disconnected: `{"Type":11,"Error":"..."}` as `application/json`, `Error` left out when
//!   the connection closed without one (the Functions trigger reads both names ignoring case);
//! - invocation: the client's Invocation message re-encoded in the client's own protocol
//!   *without* framing (no `0x1E` after JSON, no varint length before MessagePack), as
//!   `application/json` or `application/x-msgpack`. Connection events are JSON even for
//!   MessagePack clients.
//!
//! Types 10 and 11 are the serverless protocol's "open connection" and "close connection"
//! messages, numbers the hub protocol leaves unused.

use herald_proto::hub_protocol::{Decoded, MessageType, encode_json, encode_msgpack, varint};

/// `Content-Type` of JSON bodies.
pub(crate) const JSON: &str = "application/json";
/// `Content-Type` of MessagePack bodies.
pub(crate) const MSGPACK: &str = "application/x-msgpack";

/// The serverless protocol's "open connection" message type.
const OPEN_CONNECTION: u8 = 10;
/// The serverless protocol's "close connection" message type.
const CLOSE_CONNECTION: u8 = 11;

/// The body of a `connected` event.
pub(crate) fn connected() -> Vec<u8> {
    format!("{{\"type\":{OPEN_CONNECTION}}}").into_bytes()
}

/// The body of a `disconnected` event.
pub(crate) fn disconnected(error: Option<&str>) -> Vec<u8> {
    let body = match error {
        // A JSON string literal, quotes and escapes included.
        Some(error) => format!(
            "{{\"Type\":{CLOSE_CONNECTION},\"Error\":{}}}",
            serde_json::Value::from(error)
        ),
        None => format!("{{\"Type\":{CLOSE_CONNECTION}}}"),
    };
    body.into_bytes()
}

/// The body and content type of an invocation, or the kind of message it is when it is not
/// a plain Invocation (Azure forwards nothing else).
pub(crate) fn invocation(message: &Decoded) -> Result<(Vec<u8>, &'static str), MessageType> {
    if message.kind() != MessageType::Invocation {
        return Err(message.kind());
    }
    let mut framed = Vec::new();
    Ok(match message {
        Decoded::Json(message) => {
            encode_json(message, &mut framed);
            framed.pop();
            (framed, JSON)
        }
        Decoded::MessagePack(message) => {
            encode_msgpack(message, &mut framed);
            let prefix = match varint::read(&framed) {
                Ok(Some((_, prefix))) => prefix,
                // Our own encoder always writes a valid prefix; send the frame as it is.
                Ok(None) | Err(_) => 0,
            };
            (framed.split_off(prefix), MSGPACK)
        }
    })
}

#[cfg(test)]
mod tests {
    use herald_proto::hub_protocol::{Headers, HubMessage, Protocol};

    use super::*;

    #[test]
    fn connection_event_bodies() {
        assert_eq!(connected(), br#"{"type":10}"#);
        assert_eq!(disconnected(None), br#"{"Type":11}"#);
        assert_eq!(
            disconnected(Some("bye \"now\"")),
            br#"{"Type":11,"Error":"bye \"now\""}"#
        );
    }

    #[test]
    fn invocations_lose_their_framing() {
        let json = Protocol::Json
            .decode(br#"{"type":1,"invocationId":"7","target":"Send","arguments":[1,"a"]}"#)
            .unwrap();
        let (body, kind) = invocation(&json).unwrap();
        assert_eq!(kind, JSON);
        assert_eq!(
            body,
            br#"{"type":1,"invocationId":"7","target":"Send","arguments":[1,"a"]}"#
        );
        let msgpack = Decoded::MessagePack(HubMessage::Invocation {
            headers: Headers::new(),
            invocation_id: None,
            target: "Send".into(),
            arguments: vec![rmpv::Value::Binary(vec![1, 2])],
            stream_ids: Vec::new(),
        });
        let (body, kind) = invocation(&msgpack).unwrap();
        assert_eq!(kind, MSGPACK);
        assert_eq!(Protocol::MessagePack.decode(&body).unwrap(), msgpack);
        let ping = Protocol::Json.decode(br#"{"type":6}"#).unwrap();
        assert_eq!(invocation(&ping), Err(MessageType::Ping));
    }
}
