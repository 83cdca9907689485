//! [`DecodeError`]: why bytes received from a peer are not a hub message.
//!
//! Only [`DecodeError::UnknownMessageType`] describes a well-formed message; the caller may
//! ignore it (newer peers may send newer message types). Every other error is a protocol
//! error after which the connection should be closed.

/// Why a hub message could not be decoded. Field names are the JSON property names, also
/// used for the matching MessagePack array items.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// A well-formed message of a type this crate does not know.
    #[error("unknown message type {0}")]
    UnknownMessageType(u64),
    /// A message larger than the configured limit.
    #[error("message of {size} bytes exceeds the {max}-byte limit")]
    MessageTooLarge {
        /// The size of the message, or the bytes buffered so far when it is not yet complete.
        size: usize,
        /// The configured limit.
        max: usize,
    },
    /// A MessagePack length prefix that is not a valid varint.
    #[error("invalid length prefix: {0}")]
    InvalidLengthPrefix(&'static str),
    /// A JSON record that is not valid UTF-8.
    #[error("message is not valid utf-8")]
    InvalidUtf8,
    /// A JSON record that is not valid JSON.
    #[error("message is not valid json: {0}")]
    InvalidJson(String),
    /// A MessagePack body that is not valid MessagePack.
    #[error("message is not valid messagepack: {0}")]
    InvalidMessagePack(String),
    /// A MessagePack body that ends in the middle of a value.
    #[error("message is truncated")]
    Truncated,
    /// Bytes left over after the message in a MessagePack body.
    #[error("message is followed by {0} unexpected bytes")]
    TrailingBytes(usize),
    /// A JSON message that is not an object.
    #[error("message is not a json object")]
    NotAnObject,
    /// A MessagePack message that is not an array.
    #[error("message is not a messagepack array")]
    NotAnArray,
    /// A required field is absent.
    #[error("message is missing the `{0}` field")]
    MissingField(&'static str),
    /// A field has the wrong type.
    #[error("the `{field}` field must be {expected}")]
    WrongType {
        /// The field.
        field: &'static str,
        /// What it must be, e.g. "a string".
        expected: &'static str,
    },
    /// A completion carrying both a result and an error.
    #[error("completion has both a result and an error")]
    ResultAndError,
    /// A MessagePack completion whose result kind is not 1, 2 or 3.
    #[error("unknown completion result kind {0}")]
    InvalidResultKind(u64),
}

impl DecodeError {
    /// Whether the connection can go on after this error (only unknown message types).
    pub fn is_recoverable(&self) -> bool {
        matches!(self, Self::UnknownMessageType(_))
    }

    pub(crate) fn wrong_type(field: &'static str, expected: &'static str) -> Self {
        Self::WrongType { field, expected }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_name_the_problem() {
        let e = DecodeError::MessageTooLarge {
            size: 40000,
            max: 32768,
        };
        assert_eq!(
            e.to_string(),
            "message of 40000 bytes exceeds the 32768-byte limit"
        );
        assert_eq!(
            DecodeError::wrong_type("target", "a string").to_string(),
            "the `target` field must be a string"
        );
        assert_eq!(
            DecodeError::MissingField("arguments").to_string(),
            "message is missing the `arguments` field"
        );
        assert!(DecodeError::UnknownMessageType(99).is_recoverable());
        assert!(!DecodeError::Truncated.is_recoverable());
    }
}
