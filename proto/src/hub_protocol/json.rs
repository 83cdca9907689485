//! The JSON encoding: one UTF-8 JSON object per message, terminated by [`RECORD_SEPARATOR`].
//!
//! Encoding writes properties in the order of the spec (`type` first, then `headers` when
//! present) and omits optional ones that are empty. Decoding accepts properties in any
//! order, ignores unknown ones, and treats `null` like absence for optional properties.

use serde::Serialize;
use serde_json::{Map, Value};

use super::{DecodeError, Headers, HubMessage, MessageType, Outcome};

/// The ASCII record separator that ends every JSON record (and every handshake message).
pub const RECORD_SEPARATOR: u8 = 0x1E;

/// Appends `msg` as one JSON record, separator included.
pub fn encode_json(msg: &HubMessage<Value>, out: &mut Vec<u8>) {
    out.extend_from_slice(b"{\"type\":");
    write(out, &msg.message_type());
    match msg {
        HubMessage::Invocation {
            headers,
            invocation_id,
            target,
            arguments,
            stream_ids,
        } => write_invocation(
            out,
            headers,
            invocation_id.as_deref(),
            target,
            arguments,
            stream_ids,
        ),
        HubMessage::StreamInvocation {
            headers,
            invocation_id,
            target,
            arguments,
            stream_ids,
        } => write_invocation(
            out,
            headers,
            Some(invocation_id),
            target,
            arguments,
            stream_ids,
        ),
        HubMessage::StreamItem {
            headers,
            invocation_id,
            item,
        } => {
            write_headers(out, headers);
            field(out, "invocationId", invocation_id);
            field(out, "item", item);
        }
        HubMessage::Completion {
            headers,
            invocation_id,
            outcome,
        } => {
            write_headers(out, headers);
            field(out, "invocationId", invocation_id);
            match outcome {
                Outcome::Void => {}
                Outcome::Result(value) => field(out, "result", value),
                Outcome::Error(error) => field(out, "error", error),
            }
        }
        HubMessage::CancelInvocation {
            headers,
            invocation_id,
        } => {
            write_headers(out, headers);
            field(out, "invocationId", invocation_id);
        }
        HubMessage::Ping => {}
        HubMessage::Close {
            error,
            allow_reconnect,
        } => {
            if let Some(error) = error {
                field(out, "error", error);
            }
            if *allow_reconnect {
                field(out, "allowReconnect", &true);
            }
        }
        HubMessage::Ack { sequence_id } | HubMessage::Sequence { sequence_id } => {
            field(out, "sequenceId", sequence_id);
        }
    }
    out.push(b'}');
    out.push(RECORD_SEPARATOR);
}

/// Writes the properties after `type` of an invocation or stream invocation.
pub(crate) fn write_invocation(
    out: &mut Vec<u8>,
    headers: &Headers,
    invocation_id: Option<&str>,
    target: &str,
    arguments: &[Value],
    stream_ids: &[String],
) {
    write_headers(out, headers);
    if let Some(id) = invocation_id {
        field(out, "invocationId", id);
    }
    field(out, "target", target);
    field(out, "arguments", arguments);
    if !stream_ids.is_empty() {
        field(out, "streamIds", stream_ids);
    }
}

fn write_headers(out: &mut Vec<u8>, headers: &Headers) {
    if !headers.is_empty() {
        field(out, "headers", headers);
    }
}

/// Writes `,"name":value`; `name` is a static ASCII property name needing no escaping.
fn field<T: Serialize + ?Sized>(out: &mut Vec<u8>, name: &str, value: &T) {
    out.extend_from_slice(b",\"");
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(b"\":");
    write(out, value);
}

/// Serializes `value` onto `out`. Strings, numbers, string-keyed maps and `Value`s cannot fail
/// to serialize, and writing to a `Vec` cannot fail either.
pub(crate) fn write<T: Serialize + ?Sized>(out: &mut Vec<u8>, value: &T) {
    let result = serde_json::to_writer(&mut *out, value);
    debug_assert!(result.is_ok(), "serializing to a Vec failed: {result:?}");
}

/// Decodes one JSON record, given without its separator.
pub fn decode_json(record: &[u8]) -> Result<HubMessage<Value>, DecodeError> {
    let text = std::str::from_utf8(record).map_err(|_| DecodeError::InvalidUtf8)?;
    let value: Value =
        serde_json::from_str(text).map_err(|e| DecodeError::InvalidJson(e.to_string()))?;
    let Value::Object(mut map) = value else {
        return Err(DecodeError::NotAnObject);
    };
    let number = match map.get("type") {
        None | Some(Value::Null) => return Err(DecodeError::MissingField("type")),
        Some(t) => t
            .as_u64()
            .ok_or(DecodeError::wrong_type("type", "a non-negative integer"))?,
    };
    let kind = MessageType::from_number(number).ok_or(DecodeError::UnknownMessageType(number))?;
    let m = &mut map;
    Ok(match kind {
        MessageType::Invocation => HubMessage::Invocation {
            headers: headers(m)?,
            invocation_id: opt_string(m, "invocationId")?,
            target: string(m, "target")?,
            arguments: array(m, "arguments")?,
            stream_ids: string_array(m, "streamIds")?,
        },
        MessageType::StreamInvocation => HubMessage::StreamInvocation {
            headers: headers(m)?,
            invocation_id: string(m, "invocationId")?,
            target: string(m, "target")?,
            arguments: array(m, "arguments")?,
            stream_ids: string_array(m, "streamIds")?,
        },
        MessageType::StreamItem => HubMessage::StreamItem {
            headers: headers(m)?,
            invocation_id: string(m, "invocationId")?,
            item: m.remove("item").ok_or(DecodeError::MissingField("item"))?,
        },
        MessageType::Completion => {
            let headers = headers(m)?;
            let invocation_id = string(m, "invocationId")?;
            let error = opt_string(m, "error")?;
            let result = m.remove("result");
            let outcome = match (error, result) {
                (Some(_), Some(_)) => return Err(DecodeError::ResultAndError),
                (Some(error), None) => Outcome::Error(error),
                (None, Some(result)) => Outcome::Result(result),
                (None, None) => Outcome::Void,
            };
            HubMessage::Completion {
                headers,
                invocation_id,
                outcome,
            }
        }
        MessageType::CancelInvocation => HubMessage::CancelInvocation {
            headers: headers(m)?,
            invocation_id: string(m, "invocationId")?,
        },
        MessageType::Ping => HubMessage::Ping,
        MessageType::Close => HubMessage::Close {
            error: opt_string(m, "error")?,
            allow_reconnect: match m.get("allowReconnect") {
                None | Some(Value::Null) => false,
                Some(v) => v
                    .as_bool()
                    .ok_or(DecodeError::wrong_type("allowReconnect", "a boolean"))?,
            },
        },
        MessageType::Ack => HubMessage::Ack {
            sequence_id: sequence_id(m)?,
        },
        MessageType::Sequence => HubMessage::Sequence {
            sequence_id: sequence_id(m)?,
        },
    })
}

fn string(m: &mut Map<String, Value>, field: &'static str) -> Result<String, DecodeError> {
    opt_string(m, field)?.ok_or(DecodeError::MissingField(field))
}

fn opt_string(
    m: &mut Map<String, Value>,
    field: &'static str,
) -> Result<Option<String>, DecodeError> {
    match m.remove(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(DecodeError::wrong_type(field, "a string")),
    }
}

fn array(m: &mut Map<String, Value>, field: &'static str) -> Result<Vec<Value>, DecodeError> {
    match m.remove(field) {
        None | Some(Value::Null) => Err(DecodeError::MissingField(field)),
        Some(Value::Array(items)) => Ok(items),
        Some(_) => Err(DecodeError::wrong_type(field, "an array")),
    }
}

fn string_array(
    m: &mut Map<String, Value>,
    field: &'static str,
) -> Result<Vec<String>, DecodeError> {
    match m.remove(field) {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(items)) => items
            .into_iter()
            .map(|item| match item {
                Value::String(s) => Ok(s),
                _ => Err(DecodeError::wrong_type(field, "an array of strings")),
            })
            .collect(),
        Some(_) => Err(DecodeError::wrong_type(field, "an array of strings")),
    }
}

fn headers(m: &mut Map<String, Value>) -> Result<Headers, DecodeError> {
    const EXPECTED: &str = "an object with string values";
    match m.remove("headers") {
        None | Some(Value::Null) => Ok(Headers::new()),
        Some(Value::Object(entries)) => entries
            .into_iter()
            .map(|(k, v)| match v {
                Value::String(v) => Ok((k, v)),
                _ => Err(DecodeError::wrong_type("headers", EXPECTED)),
            })
            .collect(),
        Some(_) => Err(DecodeError::wrong_type("headers", EXPECTED)),
    }
}

fn sequence_id(m: &mut Map<String, Value>) -> Result<u64, DecodeError> {
    match m.get("sequenceId") {
        None | Some(Value::Null) => Err(DecodeError::MissingField("sequenceId")),
        Some(v) => v.as_u64().ok_or(DecodeError::wrong_type(
            "sequenceId",
            "a non-negative integer",
        )),
    }
}

#[cfg(test)]
mod tests;
