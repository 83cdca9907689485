//! Herald wire types. No I/O, no runtime.
//!
//! - [`ids`]: validated hub names, node ids and connection ids.
//! - [`hub_protocol`]: the ASP.NET Core SignalR hub protocol.
//!   - [`HubMessage`] / [`Outcome`] / [`Headers`]: the message model, generic over values.
//!   - [`Protocol`] (`json` / `messagepack`) and [`Decoded`] (a message in either).
//!   - [`hub_protocol::json`]: [`encode_json`] / [`decode_json`], records ending in `0x1E`.
//!   - [`hub_protocol::msgpack`]: [`encode_msgpack`] / [`decode_msgpack`], varint-prefixed.
//!   - [`hub_protocol::convert`]: [`json_to_msgpack`] / [`msgpack_to_json`].
//!   - [`hub_protocol::framing`]: [`MessageReader`], byte stream to messages, size-limited.
//!   - [`hub_protocol::frames`]: hot-path frames ([`ping_frame`], [`encode_invocation`],
//!     [`encode_close`], [`encode_completion_error`]).
//!   - [`DecodeError`]: what can be wrong with received bytes.
//! - [`handshake`]: [`parse_handshake`] / [`handshake_response`], always JSON.
//! - [`negotiate`]: the JSON bodies of negotiate responses ([`NegotiateResponse`], …).
//! - [`backplane`]: what nodes publish to each other over Redis.
//!   - [`backplane::BackplaneMessage`]: deliveries, commands and replies, user-group changes.
//!   - [`backplane::encode`] / [`backplane::decode`]: a version byte, then the body.
//!   - [`backplane::Channels`] / [`backplane::Keys`]: pub/sub channel and key names.
//!   - [`backplane::NodeRecord`]: a node's registry entry, JSON in Redis.
pub mod backplane;
pub mod handshake;
pub mod hub_protocol;
pub mod ids;
pub mod negotiate;

pub use handshake::{
    HandshakeError, HandshakeRequest, handshake_response, parse_handshake, parse_handshake_response,
};
pub use hub_protocol::{
    DecodeError, Decoded, Headers, HubMessage, MessageReader, MessageType, Outcome, Protocol,
    RECORD_SEPARATOR, decode_json, decode_msgpack, encode_close, encode_completion_error,
    encode_invocation, encode_json, encode_msgpack, json_to_msgpack, msgpack_to_json, ping_frame,
};
pub use negotiate::{
    AvailableTransport, NegotiateError, NegotiateRedirect, NegotiateResponse, TransferFormat,
    TransportType,
};
