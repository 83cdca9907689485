//! Framing tests: split records, batches, size limits, bad prefixes, poisoning.

use serde_json::json;

use super::*;
use crate::hub_protocol::{Headers, HubMessage, encode_json, encode_msgpack, json_to_msgpack};

fn sample_messages() -> Vec<HubMessage<serde_json::Value>> {
    vec![
        HubMessage::Invocation {
            headers: Headers::from([("k".to_owned(), "v".to_owned())]),
            invocation_id: Some("1".into()),
            target: "Send".into(),
            arguments: vec![json!("héllo \u{1e} world"), json!({"a": [1, 2]})],
            stream_ids: vec![],
        },
        HubMessage::Ping,
        HubMessage::Ack { sequence_id: 7 },
        HubMessage::Close {
            error: Some("done".into()),
            allow_reconnect: true,
        },
    ]
}

/// The sample messages, encoded back to back, and what decoding them yields.
fn sample_stream(protocol: Protocol) -> (Vec<u8>, Vec<Decoded>) {
    let mut bytes = Vec::new();
    let mut decoded = Vec::new();
    for msg in sample_messages() {
        match protocol {
            Protocol::Json => {
                encode_json(&msg, &mut bytes);
                decoded.push(Decoded::Json(msg));
            }
            Protocol::MessagePack => {
                let msg = msg.map_values(|v| json_to_msgpack(&v));
                encode_msgpack(&msg, &mut bytes);
                decoded.push(Decoded::MessagePack(msg));
            }
        }
    }
    (bytes, decoded)
}

fn drain(reader: &mut MessageReader) -> Vec<Decoded> {
    reader.map(Result::unwrap).collect()
}

#[test]
fn many_records_in_one_push() {
    for protocol in [Protocol::Json, Protocol::MessagePack] {
        let (bytes, expected) = sample_stream(protocol);
        let mut reader = MessageReader::new(protocol, 1024);
        reader.push(&bytes);
        assert_eq!(drain(&mut reader), expected);
        assert_eq!(reader.buffered(), 0);
        assert!(!reader.is_poisoned());
    }
}

#[test]
fn records_split_at_every_byte_position() {
    for protocol in [Protocol::Json, Protocol::MessagePack] {
        let (bytes, expected) = sample_stream(protocol);
        for cut in 0..=bytes.len() {
            let mut reader = MessageReader::new(protocol, 1024);
            reader.push(&bytes[..cut]);
            let mut got = drain(&mut reader);
            reader.push(&bytes[cut..]);
            got.extend(drain(&mut reader));
            assert_eq!(got, expected, "{protocol} cut at {cut}");
        }
    }
}

#[test]
fn byte_at_a_time() {
    for protocol in [Protocol::Json, Protocol::MessagePack] {
        let (bytes, expected) = sample_stream(protocol);
        let mut reader = MessageReader::new(protocol, 1024);
        let mut got = Vec::new();
        for b in &bytes {
            reader.push(std::slice::from_ref(b));
            got.extend(drain(&mut reader));
        }
        assert_eq!(got, expected);
    }
}

#[test]
fn json_too_large_is_detected_before_the_separator() {
    let mut reader = MessageReader::new(Protocol::Json, 16);
    reader.push(b"{\"type\":6}\x1e{\"type\":1,\"target\"");
    assert!(reader.next().unwrap().unwrap().is_ping());
    assert_eq!(
        reader.next(),
        Some(Err(DecodeError::MessageTooLarge { size: 18, max: 16 }))
    );
    assert!(reader.is_poisoned());
    assert_eq!(reader.next(), None);
    reader.push(b"{\"type\":6}\x1e");
    assert_eq!(reader.next(), None);
    assert_eq!(reader.buffered(), 0);
}

#[test]
fn json_too_large_complete_record() {
    let mut reader = MessageReader::new(Protocol::Json, 10);
    reader.push(b"{\"type\":6}\x1e{\"type\":6 }\x1e");
    assert!(reader.next().unwrap().unwrap().is_ping());
    assert_eq!(
        reader.next(),
        Some(Err(DecodeError::MessageTooLarge { size: 11, max: 10 }))
    );
    // Exactly at the limit is fine; pending bytes at the limit are fine too.
    let mut reader = MessageReader::new(Protocol::Json, 10);
    reader.push(b"{\"type\":6}");
    assert_eq!(reader.next(), None);
    reader.push(b"\x1e");
    assert!(reader.next().unwrap().unwrap().is_ping());
}

#[test]
fn msgpack_too_large_is_detected_from_the_prefix() {
    let mut reader = MessageReader::new(Protocol::MessagePack, 32768);
    // Prefix says 40000 bytes; none of the body has arrived yet.
    reader.push(&[0xC0, 0xB8, 0x02]);
    assert_eq!(
        reader.next(),
        Some(Err(DecodeError::MessageTooLarge {
            size: 40000,
            max: 32768
        }))
    );
    assert!(reader.is_poisoned());
    assert_eq!(
        DecodeError::MessageTooLarge {
            size: 40000,
            max: 32768
        }
        .to_string(),
        "message of 40000 bytes exceeds the 32768-byte limit"
    );
}

#[test]
fn bad_varint_poisons() {
    let mut reader = MessageReader::new(Protocol::MessagePack, usize::MAX);
    reader.push(&[0x80, 0x80, 0x80]);
    assert_eq!(reader.next(), None);
    reader.push(&[0x80, 0x80, 0x01]);
    assert!(matches!(
        reader.next(),
        Some(Err(DecodeError::InvalidLengthPrefix(_)))
    ));
    assert_eq!(reader.next(), None);

    let mut reader = MessageReader::new(Protocol::MessagePack, usize::MAX);
    reader.push(&[0xFF, 0xFF, 0xFF, 0xFF, 0x0F]);
    assert!(matches!(
        reader.next(),
        Some(Err(DecodeError::InvalidLengthPrefix(_)))
    ));
}

#[test]
fn unknown_types_do_not_poison_but_malformed_records_do() {
    let mut reader = MessageReader::new(Protocol::Json, 1024);
    reader.push(b"{\"type\":42}\x1e{\"type\":6}\x1enot json\x1e{\"type\":6}\x1e");
    assert_eq!(
        reader.next(),
        Some(Err(DecodeError::UnknownMessageType(42)))
    );
    assert!(reader.next().unwrap().unwrap().is_ping());
    assert!(matches!(
        reader.next(),
        Some(Err(DecodeError::InvalidJson(_)))
    ));
    assert_eq!(reader.next(), None);

    let mut reader = MessageReader::new(Protocol::MessagePack, 1024);
    reader.push(&[
        0x02, 0x91, 0x0c, 0x02, 0x91, 0x06, 0x01, 0x06, 0x02, 0x91, 0x06,
    ]);
    assert_eq!(
        reader.next(),
        Some(Err(DecodeError::UnknownMessageType(12)))
    );
    assert!(reader.next().unwrap().unwrap().is_ping());
    assert_eq!(reader.next(), Some(Err(DecodeError::NotAnArray)));
    assert_eq!(reader.next(), None);
}

#[test]
fn empty_msgpack_body_is_an_error() {
    let mut reader = MessageReader::new(Protocol::MessagePack, 1024);
    reader.push(&[0x00]);
    assert_eq!(reader.next(), Some(Err(DecodeError::Truncated)));
}

#[test]
fn large_buffers_are_released() {
    let mut reader = MessageReader::new(Protocol::Json, 1 << 20);
    let mut record = b"{\"type\":6,\"pad\":\"".to_vec();
    record.extend(std::iter::repeat_n(b'x', 200_000));
    record.extend_from_slice(b"\"}\x1e");
    reader.push(&record);
    assert!(reader.next().unwrap().unwrap().is_ping());
    assert_eq!(reader.buffered(), 0);
    assert!(reader.buf.capacity() <= RETAINED_CAPACITY);
    assert_eq!(reader.protocol(), Protocol::Json);
    assert_eq!(reader.max_message_size(), 1 << 20);
}
