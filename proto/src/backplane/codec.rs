//! The envelope codec: [`BackplaneMessage`] to bytes and back.
//!
//! A message on the wire is one version byte followed by the body in bincode's standard
//! configuration. Version [`CODEC_VERSION`] (1): the body is the message. Version
//! [`TRACED_CODEC_VERSION`] (2): the body is a [`TraceContext`] then the message, so the spans of
//! the receiving node join the publisher's trace. Publishers write version 2 only when a trace is
//! being recorded, so a node exporting no traces writes exactly what version-1 nodes read;
//! receivers decode both. In bincode's standard configuration: little-endian, integers and lengths as bincode varints
//! (one byte below 251, else a marker byte `0xFB`/`0xFC`/`0xFD` and 2/4/8 bytes), enum
//! variants as their index, structs as their fields in order, `Option` as a `0`/`1` byte, and
//! strings and byte vectors as a varint length then the raw bytes.
//!
//! This is the only file that names `bincode`. bincode is pinned at 2.0.1: it is unmaintained
//! after that release (RUSTSEC-2025-0141) and 3.0 is a tombstone, so there is nothing to
//! upgrade to. postcard is the planned replacement; swapping it in changes only this file (and
//! the golden bytes in its tests), with [`CODEC_VERSION`] bumped so mixed clusters are refused
//! loudly rather than misread.

use super::{BackplaneMessage, CodecError, Envelope, TraceContext};

/// The version byte of a message without trace context. Bump the newest version for any change
/// to the wire format: receivers refuse versions they do not know instead of misreading them.
pub const CODEC_VERSION: u8 = 1;

/// The version byte of a message preceded by its [`TraceContext`]; the newest version.
pub const TRACED_CODEC_VERSION: u8 = 2;

/// The largest message body [`decode`] accepts, and the most string bytes it will allocate
/// for one message: far above any real frame, low enough that a hostile length prefix cannot
/// make a node allocate without bound.
pub const MAX_MESSAGE_BYTES: usize = 64 * 1024 * 1024;

/// Encodes `message` as the version byte followed by its bincode body.
///
/// Cannot fail in practice: every collection in a message has a known length and writing to a
/// `Vec` cannot fail. Were bincode ever to report an error anyway, the result is the version
/// byte alone, which [`decode`] rejects as truncated, rather than a panic.
pub fn encode(message: &BackplaneMessage) -> Vec<u8> {
    let mut out = vec![CODEC_VERSION];
    if bincode::serde::encode_into_std_write(message, &mut out, bincode::config::standard())
        .is_err()
    {
        out.truncate(1);
    }
    out
}

/// Encodes `message` with the trace context of the span that publishes it (version
/// [`TRACED_CODEC_VERSION`]). As infallible as [`encode`].
pub fn encode_traced(message: &BackplaneMessage, trace: &TraceContext) -> Vec<u8> {
    let mut out = vec![TRACED_CODEC_VERSION];
    let config = bincode::config::standard();
    if bincode::serde::encode_into_std_write(trace, &mut out, config).is_err()
        || bincode::serde::encode_into_std_write(message, &mut out, config).is_err()
    {
        out.truncate(1);
    }
    out
}

/// Decodes bytes produced by [`encode`] or [`encode_traced`], dropping the trace context.
///
/// # Errors
/// As [`decode_envelope`].
pub fn decode(bytes: &[u8]) -> Result<BackplaneMessage, CodecError> {
    decode_envelope(bytes).map(|envelope| envelope.message)
}

/// Decodes bytes produced by [`encode`] or [`encode_traced`]. Never panics, whatever the input.
///
/// # Errors
/// [`CodecError::Empty`] without even a version byte, [`CodecError::UnsupportedVersion`] for
/// any version but [`CODEC_VERSION`] and [`TRACED_CODEC_VERSION`], [`CodecError::TooLarge`]
/// past [`MAX_MESSAGE_BYTES`], [`CodecError::Truncated`] / [`CodecError::Malformed`] for a body
/// that is not a message, and [`CodecError::TrailingBytes`] when bytes follow a complete message.
pub fn decode_envelope(bytes: &[u8]) -> Result<Envelope, CodecError> {
    let (&version, body) = bytes.split_first().ok_or(CodecError::Empty)?;
    if version != CODEC_VERSION && version != TRACED_CODEC_VERSION {
        return Err(CodecError::UnsupportedVersion {
            found: version,
            supported: TRACED_CODEC_VERSION,
        });
    }
    // Byte vectors decode element by element, each consuming input, so capping the input
    // bounds them; the config limit below bounds what string length prefixes may claim.
    if body.len() > MAX_MESSAGE_BYTES {
        return Err(CodecError::TooLarge {
            limit: MAX_MESSAGE_BYTES,
        });
    }
    let config = bincode::config::standard().with_limit::<MAX_MESSAGE_BYTES>();
    let (trace, body) = if version == TRACED_CODEC_VERSION {
        let (trace, read) = bincode::serde::decode_from_slice::<TraceContext, _>(body, config)
            .map_err(map_error)?;
        (Some(trace), &body[read..])
    } else {
        (None, body)
    };
    let (message, read) = bincode::serde::decode_from_slice::<BackplaneMessage, _>(body, config)
        .map_err(map_error)?;
    match body.len().saturating_sub(read) {
        0 => Ok(Envelope { message, trace }),
        extra => Err(CodecError::TrailingBytes(extra)),
    }
}

fn map_error(error: bincode::error::DecodeError) -> CodecError {
    use bincode::error::DecodeError as E;
    match error {
        E::UnexpectedEnd { .. } => CodecError::Truncated,
        E::LimitExceeded => CodecError::TooLarge {
            limit: MAX_MESSAGE_BYTES,
        },
        E::Utf8 { .. } => CodecError::Malformed("a string is not valid utf-8".to_owned()),
        E::InvalidBooleanValue(b) => CodecError::Malformed(format!("invalid boolean byte {b}")),
        E::OutsideUsizeRange(n) => CodecError::Malformed(format!("length {n} is out of range")),
        E::InvalidIntegerType { .. } => CodecError::Malformed("invalid varint marker".to_owned()),
        E::OtherString(text) => CodecError::Malformed(text),
        other => CodecError::Malformed(format!("{other:?}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backplane::{Delivery, Reply, ReplyOutcome, Target};

    fn delivery() -> BackplaneMessage {
        BackplaneMessage::Deliver(Delivery {
            origin: "n1".to_owned(),
            sequence: 300,
            hub: "chat".to_owned(),
            target: Target::Group("g".to_owned()),
            excluded: vec!["c1".to_owned()],
            json: b"{}\x1e".to_vec(),
            msgpack: vec![0x01, 0x90],
        })
    }

    /// Checked by hand against the format described in the module docs.
    #[rustfmt::skip]
    const DELIVERY_GOLDEN: &[u8] = &[
        0x01,                         // CODEC_VERSION
        0x00,                         // BackplaneMessage::Deliver
        0x02, b'n', b'1',             // origin
        0xFB, 0x2C, 0x01,             // sequence 300: u16 marker, then 0x012C little-endian
        0x04, b'c', b'h', b'a', b't', // hub
        0x02, 0x01, b'g',             // target: Target::Group, "g"
        0x01, 0x02, b'c', b'1',       // excluded: one id, "c1"
        0x03, b'{', b'}', 0x1E,       // json
        0x02, 0x01, 0x90,             // msgpack
    ];

    #[test]
    fn deliver_golden_bytes() {
        assert_eq!(encode(&delivery()), DELIVERY_GOLDEN);
        assert_eq!(decode(DELIVERY_GOLDEN), Ok(delivery()));
    }

    #[test]
    fn reply_golden_bytes() {
        let reply = BackplaneMessage::Reply(Reply {
            request_id: 7,
            outcome: ReplyOutcome::Done { changed: true },
        });
        // Reply variant 2, request id 7, Done variant 0, true.
        assert_eq!(encode(&reply), [0x01, 0x02, 0x07, 0x00, 0x01]);
    }

    #[test]
    fn byte_payloads_are_length_then_raw_bytes() {
        let BackplaneMessage::Deliver(mut d) = delivery() else {
            unreachable!()
        };
        let base = encode(&BackplaneMessage::Deliver(d.clone())).len();
        d.json = vec![0xFF; 1000];
        let encoded = encode(&BackplaneMessage::Deliver(d));
        // 1000 raw bytes replace 3, and the length prefix grows from 1 byte to 3 (0xFB + u16).
        assert_eq!(encoded.len(), base - 3 + 1000 + 2);
        let at = encoded.windows(3).position(|w| w == [0xFB, 0xE8, 0x03]);
        let at = at.expect("length prefix of 1000") + 3;
        assert!(encoded[at..at + 1000].iter().all(|&b| b == 0xFF));
    }

    fn trace() -> TraceContext {
        TraceContext {
            traceparent: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01".to_owned(),
            tracestate: "k=v".to_owned(),
        }
    }

    #[test]
    fn traced_messages_are_version_2_with_the_context_before_the_message() {
        let bytes = encode_traced(&delivery(), &trace());
        assert_eq!(bytes[0], TRACED_CODEC_VERSION);
        assert_eq!(bytes[1], 55, "traceparent length");
        assert_eq!(&bytes[2..57], trace().traceparent.as_bytes());
        assert_eq!(&bytes[57..61], b"\x03k=v");
        assert_eq!(
            &bytes[61..],
            &DELIVERY_GOLDEN[1..],
            "then the version-1 body"
        );
        assert_eq!(
            decode_envelope(&bytes),
            Ok(Envelope {
                message: delivery(),
                trace: Some(trace())
            })
        );
        assert_eq!(decode(&bytes), Ok(delivery()));
    }

    #[test]
    fn version_1_decodes_without_trace_context() {
        assert_eq!(
            decode_envelope(DELIVERY_GOLDEN),
            Ok(Envelope {
                message: delivery(),
                trace: None
            })
        );
    }

    #[test]
    fn truncated_traced_messages_are_rejected() {
        let bytes = encode_traced(&delivery(), &trace());
        for len in 1..bytes.len() {
            assert_eq!(
                decode_envelope(&bytes[..len]),
                Err(CodecError::Truncated),
                "prefix of {len} bytes"
            );
        }
    }

    #[test]
    fn empty_input_is_rejected() {
        assert_eq!(decode(&[]), Err(CodecError::Empty));
    }

    #[test]
    fn other_versions_are_rejected_with_both_numbers() {
        let mut bytes = DELIVERY_GOLDEN.to_vec();
        bytes[0] = 3;
        let error = decode(&bytes).unwrap_err();
        assert_eq!(
            error,
            CodecError::UnsupportedVersion {
                found: 3,
                supported: 2
            }
        );
        assert_eq!(
            error.to_string(),
            "backplane codec version 3 is not supported (this node speaks versions 1 to 2); \
             nodes of different codec versions must not share a key prefix"
        );
    }

    #[test]
    fn truncated_bodies_are_rejected() {
        for len in 1..DELIVERY_GOLDEN.len() {
            let error = decode(&DELIVERY_GOLDEN[..len]).unwrap_err();
            assert_eq!(error, CodecError::Truncated, "prefix of {len} bytes");
        }
    }

    #[test]
    fn trailing_bytes_are_rejected() {
        let mut bytes = DELIVERY_GOLDEN.to_vec();
        bytes.extend_from_slice(&[0, 0]);
        assert_eq!(decode(&bytes), Err(CodecError::TrailingBytes(2)));
    }

    #[test]
    fn unknown_variants_and_bad_utf8_are_malformed() {
        let unknown_variant = decode(&[0x01, 0x09]).unwrap_err();
        assert!(
            matches!(unknown_variant, CodecError::Malformed(_)),
            "{unknown_variant:?}"
        );
        let mut bad_utf8 = DELIVERY_GOLDEN.to_vec();
        bad_utf8[3] = 0xFF; // first byte of "n1"
        assert_eq!(
            decode(&bad_utf8),
            Err(CodecError::Malformed(
                "a string is not valid utf-8".to_owned()
            ))
        );
    }

    #[test]
    fn huge_string_lengths_are_refused_before_allocating() {
        // Deliver, then an origin claiming u64::MAX bytes, then a claim of just over the limit.
        let mut bytes = vec![0x01, 0x00, 0xFD];
        bytes.extend_from_slice(&u64::MAX.to_le_bytes());
        assert!(decode(&bytes).is_err());
        let mut bytes = vec![0x01, 0x00, 0xFC];
        bytes.extend_from_slice(&(u32::try_from(MAX_MESSAGE_BYTES).unwrap() + 1).to_le_bytes());
        assert_eq!(
            decode(&bytes),
            Err(CodecError::TooLarge {
                limit: MAX_MESSAGE_BYTES
            })
        );
    }

    #[test]
    fn oversized_input_is_refused() {
        let mut bytes = vec![0u8; MAX_MESSAGE_BYTES + 2];
        bytes[0] = CODEC_VERSION;
        assert_eq!(
            decode(&bytes),
            Err(CodecError::TooLarge {
                limit: MAX_MESSAGE_BYTES
            })
        );
    }
}
