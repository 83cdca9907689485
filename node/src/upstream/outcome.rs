//! [`InvocationOutcome`]: what the upstream's answer to an invocation means for the client.
//!
//! Azure's rules (emulator `HttpServerlessMessageHandler`, matching what the Functions
//! `SignalRInvocationMethodExecutor` produces): only an invocation with an id gets an answer;
//! `204` or `200` with an empty body is a void completion; `200` with a body carries hub
//! protocol messages *framed* in the client's protocol (the Functions trigger writes a
//! Completion with `GetMessageBytes`: JSON ending in `0x1E`, MessagePack with its varint
//! prefix), which Azure copies to the client as they are; any other status becomes a
//! completion error `Invocation failed, status code N`.
//!
//! Herald re-encodes instead of copying, so it reads the Completion out of the body: in the
//! protocol the response's `Content-Type` names (`application/json` or
//! `application/x-msgpack`), else the client's; a JSON body may omit its final `0x1E`. Other
//! messages in the body are ignored; no Completion, a Completion for another invocation, or
//! undecodable bytes make the response invalid.

use herald_proto::hub_protocol::{
    Decoded, HubMessage, MessageReader, Outcome, Protocol, RECORD_SEPARATOR, msgpack_to_json,
};
use serde_json::Value;

use super::body;

/// Largest invocation response read, as in Azure (16 MiB).
pub(crate) const MAX_RESPONSE_BYTES: usize = 16 * 1024 * 1024;

/// How an invocation ended, as the Completion sent back to the client will say.
#[derive(Debug, Clone, PartialEq)]
pub enum InvocationOutcome {
    /// The method returned nothing (also the answer to a non-blocking invocation).
    Void,
    /// The method returned this value (JSON; MessagePack results are converted, so binary
    /// values arrive as base64 strings).
    Result(Value),
    /// The method failed; the upstream's message, shown to the client.
    Error(String),
}

/// Reads the Completion for `invocation_id` out of a `200` body. `Err` explains what is
/// wrong with the body, for [`super::UpstreamError::InvalidResponse`].
pub(crate) fn from_body(
    body: &[u8],
    content_type: Option<&str>,
    client_protocol: Protocol,
    invocation_id: &str,
) -> Result<InvocationOutcome, String> {
    if body.is_empty() {
        return Ok(InvocationOutcome::Void);
    }
    let protocol = protocol_of(content_type).unwrap_or(client_protocol);
    let mut reader = MessageReader::new(protocol, MAX_RESPONSE_BYTES);
    reader.push(body);
    if protocol == Protocol::Json && body.last() != Some(&RECORD_SEPARATOR) {
        reader.push(&[RECORD_SEPARATOR]);
    }
    let mut found = None;
    for message in reader.by_ref() {
        let message = message.map_err(|e| format!("not {protocol} hub protocol messages: {e}"))?;
        let Some((id, outcome)) = completion(message) else {
            continue;
        };
        if id != invocation_id {
            return Err(format!(
                "the Completion is for invocation {id:?}, not {invocation_id:?}"
            ));
        }
        found.get_or_insert(outcome);
    }
    if reader.buffered() > 0 {
        return Err(format!("the body ends inside a {protocol} message"));
    }
    found.ok_or_else(|| format!("no Completion message in a {protocol} body"))
}

/// The protocol a response `Content-Type` names, if it names one.
fn protocol_of(content_type: Option<&str>) -> Option<Protocol> {
    let media_type = content_type?.split(';').next()?.trim();
    if media_type.eq_ignore_ascii_case(body::JSON) {
        Some(Protocol::Json)
    } else if media_type.eq_ignore_ascii_case(body::MSGPACK) {
        Some(Protocol::MessagePack)
    } else {
        None
    }
}

/// The invocation id and outcome of a Completion; `None` for other messages.
fn completion(message: Decoded) -> Option<(String, InvocationOutcome)> {
    let (id, outcome) = match message {
        Decoded::Json(HubMessage::Completion {
            invocation_id,
            outcome,
            ..
        }) => (invocation_id, convert(outcome, |v| v)),
        Decoded::MessagePack(HubMessage::Completion {
            invocation_id,
            outcome,
            ..
        }) => (invocation_id, convert(outcome, |v| msgpack_to_json(&v))),
        other => {
            tracing::debug!(kind = ?other.kind(), "ignoring a non-Completion message in an upstream response");
            return None;
        }
    };
    Some((id, outcome))
}

fn convert<V>(outcome: Outcome<V>, to_json: impl FnOnce(V) -> Value) -> InvocationOutcome {
    match outcome {
        Outcome::Void => InvocationOutcome::Void,
        Outcome::Result(value) => InvocationOutcome::Result(to_json(value)),
        Outcome::Error(message) => InvocationOutcome::Error(message),
    }
}

#[cfg(test)]
mod tests {
    use herald_proto::hub_protocol::{Headers, encode_msgpack};
    use serde_json::json;

    use super::*;

    fn msgpack_completion(id: &str, outcome: Outcome<rmpv::Value>) -> Vec<u8> {
        let mut out = Vec::new();
        let message = HubMessage::Completion {
            headers: Headers::new(),
            invocation_id: id.to_owned(),
            outcome,
        };
        encode_msgpack(&message, &mut out);
        out
    }

    #[test]
    fn json_completions() {
        let read = |body: &[u8]| from_body(body, None, Protocol::Json, "1");
        assert_eq!(read(b""), Ok(InvocationOutcome::Void));
        assert_eq!(
            read(b"{\"type\":3,\"invocationId\":\"1\",\"result\":{\"a\":[1]}}\x1e"),
            Ok(InvocationOutcome::Result(json!({"a": [1]})))
        );
        assert_eq!(
            read(br#"{"type":3,"invocationId":"1","result":null}"#),
            Ok(InvocationOutcome::Result(Value::Null))
        );
        assert_eq!(
            read(br#"{"type":3,"invocationId":"1"}"#),
            Ok(InvocationOutcome::Void)
        );
        assert_eq!(
            read(b"{\"type\":6}\x1e{\"type\":3,\"invocationId\":\"1\",\"error\":\"boom\"}\x1e"),
            Ok(InvocationOutcome::Error("boom".into()))
        );
    }

    #[test]
    fn msgpack_completions_and_content_type() {
        let body = msgpack_completion("1", Outcome::Result(rmpv::Value::from(42)));
        assert_eq!(
            from_body(&body, None, Protocol::MessagePack, "1"),
            Ok(InvocationOutcome::Result(json!(42)))
        );
        let bytes = msgpack_completion("1", Outcome::Result(rmpv::Value::Binary(vec![1, 2, 3])));
        assert_eq!(
            from_body(&bytes, Some("application/x-msgpack"), Protocol::Json, "1"),
            Ok(InvocationOutcome::Result(json!("AQID")))
        );
        let json = br#"{"type":3,"invocationId":"1","error":"no"}"#;
        assert_eq!(
            from_body(
                json,
                Some("application/json; charset=utf-8"),
                Protocol::MessagePack,
                "1"
            ),
            Ok(InvocationOutcome::Error("no".into()))
        );
    }

    #[test]
    fn bodies_that_cannot_be_read() {
        let read =
            |body: &[u8]| from_body(body, Some("text/plain"), Protocol::Json, "1").unwrap_err();
        assert!(
            read(b"42").starts_with("not json hub protocol messages"),
            "{}",
            read(b"42")
        );
        assert_eq!(
            read(br#"{"type":6}"#),
            "no Completion message in a json body"
        );
        assert_eq!(
            read(br#"{"type":3,"invocationId":"2"}"#),
            "the Completion is for invocation \"2\", not \"1\""
        );
        let mut cut = msgpack_completion("1", Outcome::Void);
        cut.pop();
        let err = from_body(&cut, None, Protocol::MessagePack, "1").unwrap_err();
        assert_eq!(err, "the body ends inside a messagepack message");
    }
}
