//! [`CodecError`]: why bytes received on the backplane are not a [`BackplaneMessage`].
//!
//! The receiver drops (and counts) a message that fails to decode; none of these errors is
//! fatal to the subscription, since one bad publisher must not cut a node off from the rest.
//!
//! [`BackplaneMessage`]: super::BackplaneMessage

/// Why backplane bytes could not be decoded. Deliberately free of codec-library types, so
/// swapping the codec changes no caller.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CodecError {
    /// No bytes at all, not even the version byte.
    #[error("backplane message is empty")]
    Empty,
    /// A version byte this node does not speak: the publisher runs an incompatible build.
    #[error(
        "backplane codec version {found} is not supported (this node speaks versions 1 to {supported}); \
         nodes of different codec versions must not share a key prefix"
    )]
    UnsupportedVersion {
        /// The version byte the message starts with.
        found: u8,
        /// The newest version this node decodes
        /// ([`TRACED_CODEC_VERSION`](super::codec::TRACED_CODEC_VERSION)); it decodes every
        /// version from 1 up to it.
        supported: u8,
    },
    /// The body ends in the middle of a value.
    #[error("backplane message is truncated")]
    Truncated,
    /// The body, or the strings it declares, exceed the decode limit; refused before
    /// allocating, so a hostile length prefix cannot exhaust memory.
    #[error("backplane message exceeds the {limit}-byte decode limit")]
    TooLarge {
        /// The limit ([`MAX_MESSAGE_BYTES`](super::MAX_MESSAGE_BYTES)).
        limit: usize,
    },
    /// The body is not a valid message (unknown variant, invalid UTF-8, bad varint, …).
    #[error("backplane message is malformed: {0}")]
    Malformed(String),
    /// Bytes left over after a complete message: a publisher bug, or a newer encoding.
    #[error("backplane message is followed by {0} unexpected bytes")]
    TrailingBytes(usize),
}
