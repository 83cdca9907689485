//! The ASP.NET Core SignalR hub protocol: messages, their two encodings, and stream framing.
//!
//! The model ([`HubMessage`]) is shared by both encodings and generic over the argument value
//! type: `serde_json::Value` for JSON, `rmpv::Value` for MessagePack. Nothing here does I/O.
//!
//! - [`error`]: [`DecodeError`], what can be wrong with bytes received from a peer.
//! - [`protocol`]: [`Protocol`] (the name agreed in the handshake) and [`Decoded`].
//! - [`json`]: the JSON encoding, records terminated by `0x1E`.
//! - [`msgpack`]: the MessagePack encoding, bodies prefixed with a varint length.
//! - [`varint`]: the MessagePack length prefix.
//! - [`convert`]: JSON values to MessagePack values and back.
//! - [`framing`]: [`MessageReader`], splitting a byte stream into messages.
//! - [`frames`]: ready-made frames the server sends on the hot path (ping, invocation, close).

use std::collections::BTreeMap;

pub mod convert;
pub mod error;
pub mod frames;
pub mod framing;
pub mod json;
pub mod msgpack;
pub mod protocol;
pub mod varint;

#[cfg(test)]
mod proptests;

pub use convert::{json_to_msgpack, msgpack_to_json};
pub use error::DecodeError;
pub use frames::{encode_close, encode_completion_error, encode_invocation, ping_frame};
pub use framing::MessageReader;
pub use json::{RECORD_SEPARATOR, decode_json, encode_json};
pub use msgpack::{decode_msgpack, encode_msgpack};
pub use protocol::{Decoded, Protocol};

/// Message headers: string keys to string values. Nobody is expected to interpret them, but
/// they must be accepted and may be relayed. Sorted, so encodings are deterministic.
pub type Headers = BTreeMap<String, String>;

/// The numeric message types of the hub protocol (the `type` field / first array item).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum MessageType {
    /// Invoke a method on the peer, optionally expecting a completion.
    Invocation = 1,
    /// One item of a streamed result or upload.
    StreamItem = 2,
    /// The end of an invocation or stream: void, a result or an error.
    Completion = 3,
    /// Invoke a streaming method on the peer.
    StreamInvocation = 4,
    /// Cancel an invocation or stream started by the sender.
    CancelInvocation = 5,
    /// Keep-alive.
    Ping = 6,
    /// The sender is closing the connection.
    Close = 7,
    /// Stateful reconnect: messages up to this sequence id have arrived.
    Ack = 8,
    /// Stateful reconnect: the sequence id of the next message after a reconnect.
    Sequence = 9,
}

impl MessageType {
    /// The message type with this wire number, if it is one this crate knows.
    pub fn from_number(n: u64) -> Option<Self> {
        Some(match n {
            1 => Self::Invocation,
            2 => Self::StreamItem,
            3 => Self::Completion,
            4 => Self::StreamInvocation,
            5 => Self::CancelInvocation,
            6 => Self::Ping,
            7 => Self::Close,
            8 => Self::Ack,
            9 => Self::Sequence,
            _ => return None,
        })
    }

    /// The wire number of this message type.
    pub fn number(self) -> u8 {
        self as u8
    }
}

/// How a [`HubMessage::Completion`] ended.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome<V> {
    /// The method returned nothing (or a stream ended normally).
    Void,
    /// The method returned this value (which may itself be null).
    Result(V),
    /// The invocation failed with this message.
    Error(String),
}

/// One hub protocol message. `V` is the type of argument, item and result values.
#[derive(Debug, Clone, PartialEq)]
pub enum HubMessage<V> {
    /// Invoke `target` on the peer. Without an invocation id it is non-blocking: no response.
    Invocation {
        /// Opaque headers.
        headers: Headers,
        /// The id the completion will carry; `None` for a non-blocking invocation.
        invocation_id: Option<String>,
        /// The method name, case-sensitive.
        target: String,
        /// The method arguments.
        arguments: Vec<V>,
        /// Ids of the streams the caller will upload for this invocation.
        stream_ids: Vec<String>,
    },
    /// One item of a stream.
    StreamItem {
        /// Opaque headers.
        headers: Headers,
        /// The stream (invocation id or upload stream id) the item belongs to.
        invocation_id: String,
        /// The item.
        item: V,
    },
    /// The end of an invocation or stream.
    Completion {
        /// Opaque headers.
        headers: Headers,
        /// The invocation or stream that ended.
        invocation_id: String,
        /// Void, a result or an error.
        outcome: Outcome<V>,
    },
    /// Invoke a streaming method on the peer.
    StreamInvocation {
        /// Opaque headers.
        headers: Headers,
        /// The id the stream items and the completion will carry.
        invocation_id: String,
        /// The method name, case-sensitive.
        target: String,
        /// The method arguments.
        arguments: Vec<V>,
        /// Ids of the streams the caller will upload for this invocation.
        stream_ids: Vec<String>,
    },
    /// Cancel an invocation or stream the sender started.
    CancelInvocation {
        /// Opaque headers.
        headers: Headers,
        /// The invocation to cancel.
        invocation_id: String,
    },
    /// Keep-alive; carries nothing, not even headers.
    Ping,
    /// The sender closes the connection, possibly because of an error.
    Close {
        /// Why, when the close is due to an error.
        error: Option<String>,
        /// Whether a client with automatic reconnect should reconnect.
        allow_reconnect: bool,
    },
    /// Stateful reconnect: trackable messages up to `sequence_id` were received.
    Ack {
        /// The highest sequence id processed.
        sequence_id: u64,
    },
    /// Stateful reconnect: the next trackable message will carry `sequence_id`.
    Sequence {
        /// The sequence id of the next trackable message.
        sequence_id: u64,
    },
}

impl<V> HubMessage<V> {
    /// The kind of this message.
    pub fn kind(&self) -> MessageType {
        match self {
            Self::Invocation { .. } => MessageType::Invocation,
            Self::StreamItem { .. } => MessageType::StreamItem,
            Self::Completion { .. } => MessageType::Completion,
            Self::StreamInvocation { .. } => MessageType::StreamInvocation,
            Self::CancelInvocation { .. } => MessageType::CancelInvocation,
            Self::Ping => MessageType::Ping,
            Self::Close { .. } => MessageType::Close,
            Self::Ack { .. } => MessageType::Ack,
            Self::Sequence { .. } => MessageType::Sequence,
        }
    }

    /// The wire number of this message's type (1–9).
    pub fn message_type(&self) -> u8 {
        self.kind().number()
    }

    /// The invocation id, for the messages that carry one.
    pub fn invocation_id(&self) -> Option<&str> {
        match self {
            Self::Invocation { invocation_id, .. } => invocation_id.as_deref(),
            Self::StreamItem { invocation_id, .. }
            | Self::Completion { invocation_id, .. }
            | Self::StreamInvocation { invocation_id, .. }
            | Self::CancelInvocation { invocation_id, .. } => Some(invocation_id),
            Self::Ping | Self::Close { .. } | Self::Ack { .. } | Self::Sequence { .. } => None,
        }
    }

    /// The headers, for the messages that carry them.
    pub fn headers(&self) -> Option<&Headers> {
        match self {
            Self::Invocation { headers, .. }
            | Self::StreamItem { headers, .. }
            | Self::Completion { headers, .. }
            | Self::StreamInvocation { headers, .. }
            | Self::CancelInvocation { headers, .. } => Some(headers),
            Self::Ping | Self::Close { .. } | Self::Ack { .. } | Self::Sequence { .. } => None,
        }
    }

    /// Whether the message takes part in stateful-reconnect sequence tracking.
    pub fn is_trackable(&self) -> bool {
        self.headers().is_some()
    }

    /// The same message with every value converted by `f` (e.g. [`json_to_msgpack`]).
    pub fn map_values<W>(self, mut f: impl FnMut(V) -> W) -> HubMessage<W> {
        match self {
            Self::Invocation {
                headers,
                invocation_id,
                target,
                arguments,
                stream_ids,
            } => HubMessage::Invocation {
                headers,
                invocation_id,
                target,
                arguments: arguments.into_iter().map(f).collect(),
                stream_ids,
            },
            Self::StreamItem {
                headers,
                invocation_id,
                item,
            } => HubMessage::StreamItem {
                headers,
                invocation_id,
                item: f(item),
            },
            Self::Completion {
                headers,
                invocation_id,
                outcome,
            } => HubMessage::Completion {
                headers,
                invocation_id,
                outcome: match outcome {
                    Outcome::Void => Outcome::Void,
                    Outcome::Result(v) => Outcome::Result(f(v)),
                    Outcome::Error(e) => Outcome::Error(e),
                },
            },
            Self::StreamInvocation {
                headers,
                invocation_id,
                target,
                arguments,
                stream_ids,
            } => HubMessage::StreamInvocation {
                headers,
                invocation_id,
                target,
                arguments: arguments.into_iter().map(f).collect(),
                stream_ids,
            },
            Self::CancelInvocation {
                headers,
                invocation_id,
            } => HubMessage::CancelInvocation {
                headers,
                invocation_id,
            },
            Self::Ping => HubMessage::Ping,
            Self::Close {
                error,
                allow_reconnect,
            } => HubMessage::Close {
                error,
                allow_reconnect,
            },
            Self::Ack { sequence_id } => HubMessage::Ack { sequence_id },
            Self::Sequence { sequence_id } => HubMessage::Sequence { sequence_id },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_type_numbers_round_trip() {
        for n in 1..=9 {
            let t = MessageType::from_number(n).unwrap();
            assert_eq!(u64::from(t.number()), n);
        }
        assert_eq!(MessageType::from_number(0), None);
        assert_eq!(MessageType::from_number(10), None);
    }

    #[test]
    fn accessors_and_map_values() {
        let msg: HubMessage<i32> = HubMessage::Completion {
            headers: Headers::new(),
            invocation_id: "7".into(),
            outcome: Outcome::Result(20),
        };
        assert_eq!(msg.message_type(), 3);
        assert_eq!(msg.invocation_id(), Some("7"));
        assert!(msg.is_trackable());
        let doubled = msg.map_values(|v| i64::from(v) * 2);
        assert_eq!(
            doubled,
            HubMessage::Completion {
                headers: Headers::new(),
                invocation_id: "7".into(),
                outcome: Outcome::Result(40),
            }
        );
        let ping: HubMessage<i32> = HubMessage::Ping;
        assert!(!ping.is_trackable());
        assert_eq!(ping.invocation_id(), None);
    }
}
