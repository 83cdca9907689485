//! What the hub holds to reach a session: a bounded queue of encoded frames plus a control
//! mailbox for closing it.

use actix::prelude::*;
use bytes::Bytes;
use bytestring::ByteString;
use herald_proto::hub_protocol::Protocol;
use tokio::sync::mpsc;

use super::close_reason::CloseReason;
use super::outbox::Outgoing;

/// One encoded SignalR message (or several), ready for the client. Cloning is a reference
/// count increment: the hub encodes once per protocol and shares the bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frame {
    /// JSON protocol: text.
    Text(ByteString),
    /// MessagePack protocol: binary.
    Binary(Bytes),
}

impl Frame {
    /// The frame's bytes.
    pub fn as_bytes(&self) -> &[u8] {
        match self {
            Self::Text(s) => s.as_bytes(),
            Self::Binary(b) => b,
        }
    }

    /// Wraps bytes encoded for `protocol` (JSON bytes must be UTF-8, which our encoder
    /// guarantees; anything else is sent as binary rather than trusted).
    pub fn encoded(protocol: Protocol, bytes: Vec<u8>) -> Self {
        match protocol {
            Protocol::Json => match String::from_utf8(bytes) {
                Ok(text) => Self::Text(ByteString::from(text)),
                Err(e) => Self::Binary(Bytes::from(e.into_bytes())),
            },
            Protocol::MessagePack => Self::Binary(Bytes::from(bytes)),
        }
    }
}

/// A message encoded for every protocol, built once per send and shared by all recipients.
#[derive(Debug, Clone)]
pub struct Payload {
    /// The JSON encoding, for JSON clients.
    pub json: Frame,
    /// The MessagePack encoding, for MessagePack clients.
    pub msgpack: Frame,
}

impl Payload {
    /// Encodes a non-blocking invocation of `target` for both protocols.
    pub fn invocation(target: &str, arguments: &[serde_json::Value]) -> Self {
        Self {
            json: Frame::encoded(
                Protocol::Json,
                herald_proto::hub_protocol::encode_invocation(Protocol::Json, target, arguments),
            ),
            msgpack: Frame::encoded(
                Protocol::MessagePack,
                herald_proto::hub_protocol::encode_invocation(
                    Protocol::MessagePack,
                    target,
                    arguments,
                ),
            ),
        }
    }

    /// The frame for a recipient speaking `protocol`.
    pub fn frame(&self, protocol: Protocol) -> &Frame {
        match protocol {
            Protocol::Json => &self.json,
            Protocol::MessagePack => &self.msgpack,
        }
    }
}

/// Asks a session to close.
#[derive(Debug, Clone, Message)]
#[rtype(result = "()")]
pub struct CloseSession {
    /// Why; the client sees the text in its Close message.
    pub reason: CloseReason,
}

/// The hub's handle on one session.
#[derive(Debug, Clone)]
pub struct SessionLink {
    /// The protocol the client chose in its handshake; picks the frame to send.
    pub protocol: Protocol,
    /// Bounded queue of frames; full means the client is not keeping up.
    pub frames: mpsc::Sender<Outgoing>,
    /// Control mailbox, for closes.
    pub control: Recipient<CloseSession>,
    /// The transport, for the admin API; `None` while a long-polling client has sent its
    /// handshake but not yet polled.
    pub transport: Option<herald_proto::negotiate::TransportType>,
    /// When the handshake completed (Unix ms), for the admin API.
    pub connected_at_ms: u64,
}
