//! The backplane envelope: what Herald nodes publish to each other over Redis, and the Redis
//! names they use. No I/O; the node crate moves the bytes.
//!
//! - [`message`]: [`BackplaneMessage`] and its parts ([`Delivery`], [`Command`], [`Reply`],
//!   [`UserGroupsChange`], …), plain serde types.
//! - [`codec`]: [`encode`] / [`encode_traced`] / [`decode_envelope`], a version byte then the
//!   body ([`CODEC_VERSION`], or [`TRACED_CODEC_VERSION`] with a trace context).
//! - [`trace_context`]: [`TraceContext`], the W3C trace context a message travels with, and
//!   [`Envelope`], a decoded message with it.
//! - [`error`]: [`CodecError`], what can be wrong with received bytes.
//! - [`channels`]: [`Channels`], pub/sub channel names under a prefix ([`DEFAULT_PREFIX`]).
//! - [`keys`]: [`Keys`], Redis key names under the same prefix.
//! - [`node_record`]: [`NodeRecord`], a node's registry entry, JSON in Redis.

pub mod channels;
pub mod codec;
pub mod error;
pub mod keys;
pub mod message;
pub mod node_record;
pub mod trace_context;

#[cfg(test)]
mod proptests;

pub use channels::{Channels, DEFAULT_PREFIX};
pub use codec::{
    CODEC_VERSION, MAX_MESSAGE_BYTES, TRACED_CODEC_VERSION, decode, decode_envelope, encode,
    encode_traced,
};
pub use error::CodecError;
pub use keys::Keys;
pub use message::{
    BackplaneMessage, CloseConnections, Command, CommandOp, Delivery, Reply, ReplyOutcome, Target,
    UserGroupOp, UserGroupsChange,
};
pub use node_record::NodeRecord;
pub use trace_context::{Envelope, TraceContext};
