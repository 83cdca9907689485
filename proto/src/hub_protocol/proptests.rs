//! Property tests across the hub protocol: encode→decode round trips in both encodings
//! (directly and through [`MessageReader`]), and "never panics" on arbitrary input.

use std::fmt::Debug;

use proptest::collection::{btree_map, vec};
use proptest::prelude::*;

use super::*;

fn json_value() -> BoxedStrategy<serde_json::Value> {
    use serde_json::Value;
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        // Quarters print and parse back exactly.
        any::<i32>().prop_map(|i| Value::from(f64::from(i) / 4.0)),
        ".{0,12}".prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            vec(inner.clone(), 0..4).prop_map(Value::Array),
            btree_map(".{0,6}", inner, 0..4).prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
    .boxed()
}

fn msgpack_value() -> BoxedStrategy<rmpv::Value> {
    use rmpv::Value;
    let leaf = prop_oneof![
        Just(Value::Nil),
        any::<bool>().prop_map(Value::Boolean),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f32>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Value::F32),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Value::F64),
        ".{0,12}".prop_map(|s| Value::from(s.as_str())),
        vec(any::<u8>(), 0..20).prop_map(Value::Binary),
        (any::<i8>(), vec(any::<u8>(), 0..20)).prop_map(|(t, d)| Value::Ext(t, d)),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            vec(inner.clone(), 0..4).prop_map(Value::Array),
            vec((inner.clone(), inner), 0..4).prop_map(Value::Map),
        ]
    })
    .boxed()
}

fn text() -> BoxedStrategy<String> {
    ".{0,10}".boxed()
}

fn headers() -> impl Strategy<Value = Headers> {
    btree_map(text(), text(), 0..3)
}

fn outcome<V: Debug + Clone>(value: impl Strategy<Value = V>) -> impl Strategy<Value = Outcome<V>> {
    prop_oneof![
        Just(Outcome::Void),
        value.prop_map(Outcome::Result),
        text().prop_map(Outcome::Error),
    ]
}

fn message<V: Debug + Clone + 'static>(
    value: impl Strategy<Value = V> + Clone + 'static,
) -> impl Strategy<Value = HubMessage<V>> {
    let args = vec(value.clone(), 0..4);
    let ids = vec(text(), 0..3);
    prop_oneof![
        (
            headers(),
            proptest::option::of(text()),
            text(),
            args.clone(),
            ids.clone()
        )
            .prop_map(|(headers, invocation_id, target, arguments, stream_ids)| {
                HubMessage::Invocation {
                    headers,
                    invocation_id,
                    target,
                    arguments,
                    stream_ids,
                }
            }),
        (headers(), text(), text(), args, ids).prop_map(
            |(headers, invocation_id, target, arguments, stream_ids)| {
                HubMessage::StreamInvocation {
                    headers,
                    invocation_id,
                    target,
                    arguments,
                    stream_ids,
                }
            }
        ),
        (headers(), text(), value.clone()).prop_map(|(headers, invocation_id, item)| {
            HubMessage::StreamItem {
                headers,
                invocation_id,
                item,
            }
        }),
        (headers(), text(), outcome(value)).prop_map(|(headers, invocation_id, outcome)| {
            HubMessage::Completion {
                headers,
                invocation_id,
                outcome,
            }
        }),
        (headers(), text()).prop_map(|(headers, invocation_id)| HubMessage::CancelInvocation {
            headers,
            invocation_id,
        }),
        Just(HubMessage::Ping),
        (proptest::option::of(text()), any::<bool>()).prop_map(|(error, allow_reconnect)| {
            HubMessage::Close {
                error,
                allow_reconnect,
            }
        }),
        any::<u64>().prop_map(|sequence_id| HubMessage::Ack { sequence_id }),
        any::<u64>().prop_map(|sequence_id| HubMessage::Sequence { sequence_id }),
    ]
}

/// Byte chunks covering `bytes`, cut at the given (unsorted, possibly repeated) points.
fn chunks(bytes: &[u8], cuts: &[usize]) -> Vec<Vec<u8>> {
    let mut points: Vec<usize> = cuts.iter().map(|c| c % (bytes.len() + 1)).collect();
    points.push(0);
    points.push(bytes.len());
    points.sort_unstable();
    points
        .windows(2)
        .map(|w| bytes[w[0]..w[1]].to_vec())
        .collect()
}

/// Pushes `input` piece by piece, draining after each push; checks the buffer stays bounded.
fn read_all(
    protocol: Protocol,
    max: usize,
    input: &[Vec<u8>],
) -> Vec<Result<Decoded, DecodeError>> {
    let mut reader = MessageReader::new(protocol, max);
    let mut out = Vec::new();
    for piece in input {
        reader.push(piece);
        out.extend(&mut reader);
        // Past the limit plus a prefix, the reader has reported an error and dropped everything.
        assert!(reader.buffered() <= max + varint::MAX_PREFIX_LEN + 1);
    }
    out
}

proptest! {
    #[test]
    fn json_round_trip(msg in message(json_value())) {
        let mut out = Vec::new();
        encode_json(&msg, &mut out);
        prop_assert_eq!(out.pop(), Some(RECORD_SEPARATOR));
        prop_assert!(!out.contains(&RECORD_SEPARATOR));
        prop_assert_eq!(decode_json(&out)?, msg);
    }

    #[test]
    fn msgpack_round_trip(msg in message(msgpack_value())) {
        let mut out = Vec::new();
        encode_msgpack(&msg, &mut out);
        let (len, prefix) = varint::read(&out)?.expect("complete prefix");
        prop_assert_eq!(len as usize + prefix, out.len());
        prop_assert_eq!(decode_msgpack(&out[prefix..])?, msg);
    }

    #[test]
    fn json_stream_round_trip(
        msgs in vec(message(json_value()), 0..5),
        cuts in vec(any::<usize>(), 0..6),
    ) {
        let mut bytes = Vec::new();
        for m in &msgs {
            encode_json(m, &mut bytes);
        }
        let got = read_all(Protocol::Json, 1 << 20, &chunks(&bytes, &cuts));
        let expected: Vec<_> = msgs.into_iter().map(|m| Ok(Decoded::Json(m))).collect();
        prop_assert_eq!(got, expected);
    }

    #[test]
    fn msgpack_stream_round_trip(
        msgs in vec(message(msgpack_value()), 0..5),
        cuts in vec(any::<usize>(), 0..6),
    ) {
        let mut bytes = Vec::new();
        for m in &msgs {
            encode_msgpack(m, &mut bytes);
        }
        let got = read_all(Protocol::MessagePack, 1 << 20, &chunks(&bytes, &cuts));
        let expected: Vec<_> = msgs.into_iter().map(|m| Ok(Decoded::MessagePack(m))).collect();
        prop_assert_eq!(got, expected);
    }

    #[test]
    fn json_converted_to_msgpack_round_trips(msg in message(json_value())) {
        let converted = msg.map_values(|v| json_to_msgpack(&v));
        let mut out = Vec::new();
        encode_msgpack(&converted, &mut out);
        let (_, prefix) = varint::read(&out)?.expect("complete prefix");
        prop_assert_eq!(decode_msgpack(&out[prefix..])?, converted);
    }

    #[test]
    fn decoders_never_panic(bytes in vec(any::<u8>(), 0..256)) {
        let _ = decode_json(&bytes);
        let _ = decode_msgpack(&bytes);
    }

    #[test]
    fn decoders_never_panic_on_mutated_messages(
        json_msg in message(json_value()),
        msgpack_msg in message(msgpack_value()),
        edits in vec((any::<usize>(), any::<u8>()), 1..4),
        cut in any::<usize>(),
    ) {
        let mut json = Vec::new();
        encode_json(&json_msg, &mut json);
        let mut packed = Vec::new();
        encode_msgpack(&msgpack_msg, &mut packed);
        for bytes in [&mut json, &mut packed] {
            for (at, b) in &edits {
                let len = bytes.len();
                bytes[at % len] = *b;
            }
            let cut = cut % (bytes.len() + 1);
            let _ = decode_json(&bytes[..cut]);
            let _ = decode_msgpack(&bytes[..cut]);
            let _ = decode_msgpack(bytes.get(1..).unwrap_or_default());
        }
    }

    #[test]
    fn reader_never_panics(
        pieces in vec(vec(any::<u8>(), 0..40), 0..8),
        max in 0usize..64,
    ) {
        for protocol in [Protocol::Json, Protocol::MessagePack] {
            let _ = read_all(protocol, max, &pieces);
        }
    }

    #[test]
    fn reader_never_panics_on_record_like_input(
        pieces in vec(vec(prop_oneof![Just(0x1Eu8), Just(b'{'), Just(b'}'), Just(0x91), Just(0x06),
            Just(0x80), Just(0x01), any::<u8>()], 0..24), 0..8),
        max in 0usize..32,
    ) {
        for protocol in [Protocol::Json, Protocol::MessagePack] {
            let _ = read_all(protocol, max, &pieces);
        }
    }
}
