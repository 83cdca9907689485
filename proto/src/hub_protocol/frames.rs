//! Ready-to-send frames for what the server sends most: pings, invocations of client
//! methods with JSON arguments (from the REST API), closes and error completions. Each
//! includes the framing (record separator or length prefix).

use serde_json::Value;

use super::{Headers, HubMessage, Outcome, Protocol, json, msgpack};

const JSON_PING: &[u8] = b"{\"type\":6}\x1e";
const MSGPACK_PING: &[u8] = &[0x02, 0x91, 0x06];

/// The ping frame of `protocol`: `{"type":6}` + `0x1E`, or `[0x02, 0x91, 0x06]` (length
/// prefix 2, then the 2-byte body `0x91 0x06`).
pub fn ping_frame(protocol: Protocol) -> &'static [u8] {
    match protocol {
        Protocol::Json => JSON_PING,
        Protocol::MessagePack => MSGPACK_PING,
    }
}

/// A non-blocking invocation (no invocation id, no headers, no streams) of `target` with
/// JSON `arguments`, converted as by [`json_to_msgpack`](super::json_to_msgpack) for
/// MessagePack.
pub fn encode_invocation(protocol: Protocol, target: &str, arguments: &[Value]) -> Vec<u8> {
    let mut out = Vec::new();
    let headers = Headers::new();
    match protocol {
        Protocol::Json => {
            out.extend_from_slice(b"{\"type\":1");
            json::write_invocation(&mut out, &headers, None, target, arguments, &[]);
            out.push(b'}');
            out.push(json::RECORD_SEPARATOR);
        }
        Protocol::MessagePack => {
            msgpack::write_invocation(&mut out, 1, &headers, None, target, arguments, &[]);
            msgpack::finish_frame(&mut out, 0);
        }
    }
    out
}

/// A close message, optionally with an error and permission to reconnect.
pub fn encode_close(protocol: Protocol, error: Option<&str>, allow_reconnect: bool) -> Vec<u8> {
    let msg = HubMessage::Close {
        error: error.map(str::to_owned),
        allow_reconnect,
    };
    encode_without_values(protocol, msg)
}

/// A completion reporting that invocation `invocation_id` failed with `error`.
pub fn encode_completion_error(protocol: Protocol, invocation_id: &str, error: &str) -> Vec<u8> {
    let msg = HubMessage::Completion {
        headers: Headers::new(),
        invocation_id: invocation_id.to_owned(),
        outcome: Outcome::Error(error.to_owned()),
    };
    encode_without_values(protocol, msg)
}

/// Encodes a message that carries no argument values, so its value type is free.
fn encode_without_values(protocol: Protocol, msg: HubMessage<Value>) -> Vec<u8> {
    let mut out = Vec::new();
    match protocol {
        Protocol::Json => json::encode_json(&msg, &mut out),
        Protocol::MessagePack => {
            let msg = msg.map_values(|v| super::json_to_msgpack(&v));
            msgpack::encode_msgpack(&msg, &mut out);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::hub_protocol::{decode_json, decode_msgpack, encode_json, encode_msgpack};

    #[test]
    fn ping_frames_match_the_encoders() {
        let mut out = Vec::new();
        encode_json(&HubMessage::Ping, &mut out);
        assert_eq!(ping_frame(Protocol::Json), out.as_slice());
        let mut out = Vec::new();
        encode_msgpack(&HubMessage::Ping, &mut out);
        assert_eq!(ping_frame(Protocol::MessagePack), out.as_slice());
    }

    #[test]
    fn invocations_for_both_protocols() {
        let args = [json!("hi"), json!({"f": 0.5, "n": 1}), json!(-3)];
        let frame = encode_invocation(Protocol::Json, "newMessage", &args);
        assert_eq!(
            frame,
            b"{\"type\":1,\"target\":\"newMessage\",\"arguments\":[\"hi\",{\"f\":0.5,\"n\":1},-3]}\x1e"
        );
        let expected = HubMessage::Invocation {
            headers: Headers::new(),
            invocation_id: None,
            target: "newMessage".into(),
            arguments: args.to_vec(),
            stream_ids: vec![],
        };
        assert_eq!(decode_json(&frame[..frame.len() - 1]).unwrap(), expected);

        let frame = encode_invocation(Protocol::MessagePack, "newMessage", &args);
        let expected = expected.map_values(|v| crate::hub_protocol::json_to_msgpack(&v));
        let mut reference = Vec::new();
        encode_msgpack(&expected, &mut reference);
        assert_eq!(frame, reference);
        assert_eq!(usize::from(frame[0]), frame.len() - 1);
        assert_eq!(decode_msgpack(&frame[1..]).unwrap(), expected);
    }

    #[test]
    fn close_and_error_completion() {
        assert_eq!(
            encode_close(Protocol::Json, Some("bye \"now\""), true),
            b"{\"type\":7,\"error\":\"bye \\\"now\\\"\",\"allowReconnect\":true}\x1e"
        );
        assert_eq!(
            encode_close(Protocol::Json, None, false),
            b"{\"type\":7}\x1e"
        );
        assert_eq!(
            encode_close(Protocol::MessagePack, None, false),
            [0x04, 0x93, 0x07, 0xc0, 0xc2]
        );
        assert_eq!(
            encode_completion_error(Protocol::Json, "4", "nope"),
            b"{\"type\":3,\"invocationId\":\"4\",\"error\":\"nope\"}\x1e"
        );
        assert_eq!(
            encode_completion_error(Protocol::MessagePack, "4", "e"),
            [0x08, 0x95, 0x03, 0x80, 0xa1, 0x34, 0x01, 0xa1, 0x65]
        );
    }
}
