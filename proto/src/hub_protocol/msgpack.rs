//! The MessagePack encoding: each message is one MessagePack array whose first item is the
//! message type, framed on the wire by a [`varint`] length prefix.
//!
//! Decoding accepts the legacy layouts (Invocation without `StreamIds`, Close without
//! `AllowReconnect`) and ignores extra trailing array items, as ASP.NET Core does; bytes after
//! the array are an error. Argument values are kept as `rmpv::Value`, so binary and extension
//! values survive untouched.

use rmp::encode;
use rmpv::Value;

use super::convert::{WriteMsgpack, len32, ok};
use super::{DecodeError, Headers, HubMessage, MessageType, Outcome, varint};

/// How deep `rmpv` may recurse while reading a body (each array or map level counts twice).
const MAX_DEPTH: usize = 256;

/// Completion `ResultKind` values.
const RESULT_KIND_ERROR: u8 = 1;
const RESULT_KIND_VOID: u8 = 2;
const RESULT_KIND_RESULT: u8 = 3;

/// Appends `msg` as one MessagePack frame: the varint length prefix, then the body.
pub fn encode_msgpack(msg: &HubMessage<Value>, out: &mut Vec<u8>) {
    let start = out.len();
    write_body(msg, out);
    finish_frame(out, start);
}

/// Prefixes the body written since `start` with its varint length.
pub(crate) fn finish_frame(out: &mut Vec<u8>, start: usize) {
    let body_len = out.len() - start;
    let before = out.len();
    varint::write(out, body_len);
    let prefix_len = out.len() - before;
    out[start..].rotate_right(prefix_len);
}

fn write_body(msg: &HubMessage<Value>, out: &mut Vec<u8>) {
    let ty = msg.message_type();
    match msg {
        HubMessage::Invocation {
            headers,
            invocation_id,
            target,
            arguments,
            stream_ids,
        } => write_invocation(
            out,
            ty,
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
            ty,
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
            start_array(out, 4, ty);
            write_headers(out, headers);
            ok(encode::write_str(out, invocation_id));
            item.write_msgpack(out);
        }
        HubMessage::Completion {
            headers,
            invocation_id,
            outcome,
        } => {
            let len = if matches!(outcome, Outcome::Void) {
                4
            } else {
                5
            };
            start_array(out, len, ty);
            write_headers(out, headers);
            ok(encode::write_str(out, invocation_id));
            match outcome {
                Outcome::Void => ok(encode::write_pfix(out, RESULT_KIND_VOID)),
                Outcome::Error(error) => {
                    ok(encode::write_pfix(out, RESULT_KIND_ERROR));
                    ok(encode::write_str(out, error));
                }
                Outcome::Result(value) => {
                    ok(encode::write_pfix(out, RESULT_KIND_RESULT));
                    value.write_msgpack(out);
                }
            }
        }
        HubMessage::CancelInvocation {
            headers,
            invocation_id,
        } => {
            start_array(out, 3, ty);
            write_headers(out, headers);
            ok(encode::write_str(out, invocation_id));
        }
        HubMessage::Ping => start_array(out, 1, ty),
        HubMessage::Close {
            error,
            allow_reconnect,
        } => {
            start_array(out, 3, ty);
            match error {
                Some(error) => ok(encode::write_str(out, error)),
                None => ok(encode::write_nil(out)),
            }
            ok(encode::write_bool(out, *allow_reconnect));
        }
        HubMessage::Ack { sequence_id } | HubMessage::Sequence { sequence_id } => {
            start_array(out, 2, ty);
            ok(encode::write_uint(out, *sequence_id));
        }
    }
}

/// Writes the body of an invocation (`ty` 1) or stream invocation (`ty` 4).
pub(crate) fn write_invocation<A: WriteMsgpack>(
    out: &mut Vec<u8>,
    ty: u8,
    headers: &Headers,
    invocation_id: Option<&str>,
    target: &str,
    arguments: &[A],
    stream_ids: &[String],
) {
    start_array(out, 6, ty);
    write_headers(out, headers);
    match invocation_id {
        Some(id) => ok(encode::write_str(out, id)),
        None => ok(encode::write_nil(out)),
    }
    ok(encode::write_str(out, target));
    ok(encode::write_array_len(out, len32(arguments.len())));
    for argument in arguments {
        argument.write_msgpack(out);
    }
    ok(encode::write_array_len(out, len32(stream_ids.len())));
    for id in stream_ids {
        ok(encode::write_str(out, id));
    }
}

fn start_array(out: &mut Vec<u8>, len: u32, ty: u8) {
    ok(encode::write_array_len(out, len));
    ok(encode::write_pfix(out, ty));
}

fn write_headers(out: &mut Vec<u8>, headers: &Headers) {
    ok(encode::write_map_len(out, len32(headers.len())));
    for (k, v) in headers {
        ok(encode::write_str(out, k));
        ok(encode::write_str(out, v));
    }
}

/// Decodes one MessagePack body, given without its length prefix.
pub fn decode_msgpack(body: &[u8]) -> Result<HubMessage<Value>, DecodeError> {
    let mut rest = body;
    let value =
        rmpv::decode::read_value_with_max_depth(&mut rest, MAX_DEPTH).map_err(read_error)?;
    if !rest.is_empty() {
        return Err(DecodeError::TrailingBytes(rest.len()));
    }
    let Value::Array(items) = value else {
        return Err(DecodeError::NotAnArray);
    };
    let mut items = Items(items.into_iter());
    let number = items.u64("type")?;
    let kind = MessageType::from_number(number).ok_or(DecodeError::UnknownMessageType(number))?;
    let m = &mut items;
    Ok(match kind {
        MessageType::Invocation => HubMessage::Invocation {
            headers: m.headers()?,
            invocation_id: m.opt_string("invocationId")?,
            target: m.string("target")?,
            arguments: m.array("arguments")?,
            stream_ids: m.stream_ids()?,
        },
        MessageType::StreamInvocation => HubMessage::StreamInvocation {
            headers: m.headers()?,
            invocation_id: m.string("invocationId")?,
            target: m.string("target")?,
            arguments: m.array("arguments")?,
            stream_ids: m.stream_ids()?,
        },
        MessageType::StreamItem => HubMessage::StreamItem {
            headers: m.headers()?,
            invocation_id: m.string("invocationId")?,
            item: m.required("item")?,
        },
        MessageType::Completion => {
            let headers = m.headers()?;
            let invocation_id = m.string("invocationId")?;
            let outcome = match m.u64("resultKind")? {
                1 => Outcome::Error(m.string("error")?),
                2 => Outcome::Void,
                3 => Outcome::Result(m.required("result")?),
                other => return Err(DecodeError::InvalidResultKind(other)),
            };
            HubMessage::Completion {
                headers,
                invocation_id,
                outcome,
            }
        }
        MessageType::CancelInvocation => HubMessage::CancelInvocation {
            headers: m.headers()?,
            invocation_id: m.string("invocationId")?,
        },
        MessageType::Ping => HubMessage::Ping,
        MessageType::Close => HubMessage::Close {
            error: m.opt_string("error")?,
            allow_reconnect: match m.0.next() {
                None | Some(Value::Nil) => false,
                Some(Value::Boolean(b)) => b,
                Some(_) => return Err(DecodeError::wrong_type("allowReconnect", "a boolean")),
            },
        },
        MessageType::Ack => HubMessage::Ack {
            sequence_id: m.u64("sequenceId")?,
        },
        MessageType::Sequence => HubMessage::Sequence {
            sequence_id: m.u64("sequenceId")?,
        },
    })
}

fn read_error(e: rmpv::decode::Error) -> DecodeError {
    match e {
        rmpv::decode::Error::DepthLimitExceeded => {
            DecodeError::InvalidMessagePack("values are nested too deeply".to_owned())
        }
        e if e.kind() == std::io::ErrorKind::UnexpectedEof => DecodeError::Truncated,
        e => DecodeError::InvalidMessagePack(e.to_string()),
    }
}

/// The remaining items of a message array, taken in order.
struct Items(std::vec::IntoIter<Value>);

impl Items {
    fn required(&mut self, field: &'static str) -> Result<Value, DecodeError> {
        self.0.next().ok_or(DecodeError::MissingField(field))
    }

    fn string(&mut self, field: &'static str) -> Result<String, DecodeError> {
        match self.required(field)? {
            Value::String(s) => s
                .into_str()
                .ok_or(DecodeError::wrong_type(field, "a utf-8 string")),
            _ => Err(DecodeError::wrong_type(field, "a string")),
        }
    }

    fn opt_string(&mut self, field: &'static str) -> Result<Option<String>, DecodeError> {
        match self.required(field)? {
            Value::Nil => Ok(None),
            Value::String(s) => s
                .into_str()
                .map(Some)
                .ok_or(DecodeError::wrong_type(field, "a utf-8 string")),
            _ => Err(DecodeError::wrong_type(field, "a string or nil")),
        }
    }

    fn u64(&mut self, field: &'static str) -> Result<u64, DecodeError> {
        match self.required(field)? {
            Value::Integer(i) => i.as_u64(),
            _ => None,
        }
        .ok_or(DecodeError::wrong_type(field, "a non-negative integer"))
    }

    fn array(&mut self, field: &'static str) -> Result<Vec<Value>, DecodeError> {
        match self.required(field)? {
            Value::Array(items) => Ok(items),
            _ => Err(DecodeError::wrong_type(field, "an array")),
        }
    }

    /// The optional trailing `StreamIds` array.
    fn stream_ids(&mut self) -> Result<Vec<String>, DecodeError> {
        const FIELD: &str = "streamIds";
        const EXPECTED: &str = "an array of strings";
        match self.0.next() {
            None | Some(Value::Nil) => Ok(Vec::new()),
            Some(Value::Array(items)) => items
                .into_iter()
                .map(|item| match item {
                    Value::String(s) => {
                        s.into_str().ok_or(DecodeError::wrong_type(FIELD, EXPECTED))
                    }
                    _ => Err(DecodeError::wrong_type(FIELD, EXPECTED)),
                })
                .collect(),
            Some(_) => Err(DecodeError::wrong_type(FIELD, EXPECTED)),
        }
    }

    fn headers(&mut self) -> Result<Headers, DecodeError> {
        const EXPECTED: &str = "a map of strings to strings";
        match self.required("headers")? {
            Value::Map(entries) => entries
                .into_iter()
                .map(|(k, v)| match (k, v) {
                    (Value::String(k), Value::String(v)) => k
                        .into_str()
                        .zip(v.into_str())
                        .ok_or(DecodeError::wrong_type("headers", EXPECTED)),
                    _ => Err(DecodeError::wrong_type("headers", EXPECTED)),
                })
                .collect(),
            _ => Err(DecodeError::wrong_type("headers", EXPECTED)),
        }
    }
}

#[cfg(test)]
mod tests;
