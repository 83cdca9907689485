//! [`Protocol`], the encoding agreed in the handshake, and [`Decoded`], a message in either.

use std::fmt;

use super::{DecodeError, HubMessage, MessageType, json, msgpack};
use crate::negotiate::TransferFormat;

/// A hub protocol encoding, as named in the handshake request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Protocol {
    /// UTF-8 JSON records terminated by `0x1E`.
    Json,
    /// Length-prefixed MessagePack arrays.
    MessagePack,
}

impl Protocol {
    /// The name used in the handshake: `json` or `messagepack`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Json => "json",
            Self::MessagePack => "messagepack",
        }
    }

    /// The protocol with this handshake name (ASCII case-insensitive, as ASP.NET Core does).
    pub fn from_name(name: &str) -> Option<Self> {
        if name.eq_ignore_ascii_case("json") {
            Some(Self::Json)
        } else if name.eq_ignore_ascii_case("messagepack") {
            Some(Self::MessagePack)
        } else {
            None
        }
    }

    /// Whether messages are binary (and need binary WebSocket frames / a binary transport).
    pub fn is_binary(self) -> bool {
        matches!(self, Self::MessagePack)
    }

    /// The transfer format the transport must support for this protocol.
    pub fn transfer_format(self) -> TransferFormat {
        match self {
            Self::Json => TransferFormat::Text,
            Self::MessagePack => TransferFormat::Binary,
        }
    }

    /// The handshake versions accepted. JSON also accepts 0, which the Python client
    /// `signalrcore` sends.
    pub fn supported_versions(self) -> &'static [u32] {
        match self {
            // 2 is what clients send when they use stateful reconnect (Ack and Sequence).
            Self::Json => &[0, 1, 2],
            Self::MessagePack => &[1, 2],
        }
    }

    /// Whether `version` is one of [`Protocol::supported_versions`].
    pub fn supports_version(self, version: u32) -> bool {
        self.supported_versions().contains(&version)
    }

    /// Decodes one message: a JSON record without its separator, or a MessagePack body
    /// without its length prefix.
    pub fn decode(self, message: &[u8]) -> Result<Decoded, DecodeError> {
        match self {
            Self::Json => json::decode_json(message).map(Decoded::Json),
            Self::MessagePack => msgpack::decode_msgpack(message).map(Decoded::MessagePack),
        }
    }
}

impl fmt::Display for Protocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A decoded message, with the value type of the protocol it arrived in.
#[derive(Debug, Clone, PartialEq)]
pub enum Decoded {
    /// A message received over the JSON protocol.
    Json(HubMessage<serde_json::Value>),
    /// A message received over the MessagePack protocol.
    MessagePack(HubMessage<rmpv::Value>),
}

impl Decoded {
    /// The protocol the message was decoded from.
    pub fn protocol(&self) -> Protocol {
        match self {
            Self::Json(_) => Protocol::Json,
            Self::MessagePack(_) => Protocol::MessagePack,
        }
    }

    /// The kind of message.
    pub fn kind(&self) -> MessageType {
        match self {
            Self::Json(m) => m.kind(),
            Self::MessagePack(m) => m.kind(),
        }
    }

    /// The wire number of the message type (1–9).
    pub fn message_type(&self) -> u8 {
        self.kind().number()
    }

    /// Whether this is a ping.
    pub fn is_ping(&self) -> bool {
        self.kind() == MessageType::Ping
    }

    /// The invocation id, for the messages that carry one.
    pub fn invocation_id(&self) -> Option<&str> {
        match self {
            Self::Json(m) => m.invocation_id(),
            Self::MessagePack(m) => m.invocation_id(),
        }
    }

    /// The method name of an invocation or stream invocation.
    pub fn target(&self) -> Option<&str> {
        match self {
            Self::Json(
                HubMessage::Invocation { target, .. } | HubMessage::StreamInvocation { target, .. },
            )
            | Self::MessagePack(
                HubMessage::Invocation { target, .. } | HubMessage::StreamInvocation { target, .. },
            ) => Some(target),
            _ => None,
        }
    }

    /// Appends the message in its own protocol (with separator or length prefix).
    pub fn encode(&self, out: &mut Vec<u8>) {
        match self {
            Self::Json(m) => json::encode_json(m, out),
            Self::MessagePack(m) => msgpack::encode_msgpack(m, out),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_versions() {
        assert_eq!(Protocol::Json.name(), "json");
        assert_eq!(Protocol::MessagePack.name(), "messagepack");
        assert_eq!(Protocol::from_name("json"), Some(Protocol::Json));
        assert_eq!(
            Protocol::from_name("MessagePack"),
            Some(Protocol::MessagePack)
        );
        assert_eq!(Protocol::from_name("blazorpack"), None);
        assert!(Protocol::MessagePack.is_binary());
        assert!(!Protocol::Json.is_binary());
        assert!(Protocol::Json.supports_version(0));
        assert!(Protocol::Json.supports_version(1));
        assert!(Protocol::Json.supports_version(2));
        assert!(!Protocol::Json.supports_version(3));
        assert!(Protocol::MessagePack.supports_version(2));
        assert!(!Protocol::MessagePack.supports_version(0));
        assert!(Protocol::MessagePack.supports_version(1));
        assert_eq!(Protocol::MessagePack.to_string(), "messagepack");
        assert_eq!(
            Protocol::MessagePack.transfer_format(),
            TransferFormat::Binary
        );
    }

    #[test]
    fn decoded_accessors() {
        let d = Protocol::Json
            .decode(br#"{"type":1,"invocationId":"1","target":"Send","arguments":[]}"#)
            .unwrap();
        assert_eq!(d.protocol(), Protocol::Json);
        assert_eq!(d.message_type(), 1);
        assert_eq!(d.target(), Some("Send"));
        assert_eq!(d.invocation_id(), Some("1"));
        let p = Protocol::MessagePack.decode(&[0x91, 0x06]).unwrap();
        assert!(p.is_ping());
        assert_eq!(p.target(), None);
        let mut out = Vec::new();
        p.encode(&mut out);
        assert_eq!(out, [0x02, 0x91, 0x06]);
    }
}
