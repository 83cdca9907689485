//! Golden tests against the byte examples of the MessagePack section of the spec.

use rmpv::Value;

use super::*;

const XYZ: [u8; 4] = [0xa3, 0x78, 0x79, 0x7a];
const METHOD: [u8; 7] = [0xa6, 0x6d, 0x65, 0x74, 0x68, 0x6f, 0x64];

fn bytes(parts: &[&[u8]]) -> Vec<u8> {
    parts.concat()
}

fn encode_body(msg: &HubMessage<Value>) -> Vec<u8> {
    let mut out = Vec::new();
    encode_msgpack(msg, &mut out);
    let (len, prefix) = varint::read(&out).unwrap().unwrap();
    assert_eq!(len as usize + prefix, out.len());
    out.split_off(prefix)
}

/// The spec's bytes decode to `msg`, and `msg` encodes to exactly those bytes.
fn golden(msg: HubMessage<Value>, body: &[u8]) {
    assert_eq!(decode_msgpack(body).unwrap(), msg);
    assert_eq!(encode_body(&msg), body);
}

fn invocation(id: Option<&str>, headers: Headers) -> HubMessage<Value> {
    HubMessage::Invocation {
        headers,
        invocation_id: id.map(str::to_owned),
        target: "method".into(),
        arguments: vec![Value::from(42)],
        stream_ids: vec![],
    }
}

#[test]
fn invocations_match_the_spec() {
    golden(
        invocation(Some("xyz"), Headers::new()),
        &bytes(&[&[0x96, 0x01, 0x80], &XYZ, &METHOD, &[0x91, 0x2a, 0x90]]),
    );
    golden(
        invocation(None, Headers::new()),
        &bytes(&[&[0x96, 0x01, 0x80, 0xc0], &METHOD, &[0x91, 0x2a, 0x90]]),
    );
    golden(
        HubMessage::StreamInvocation {
            headers: Headers::new(),
            invocation_id: "xyz".into(),
            target: "method".into(),
            arguments: vec![Value::from(42)],
            stream_ids: vec![],
        },
        &bytes(&[&[0x96, 0x04, 0x80], &XYZ, &METHOD, &[0x91, 0x2a, 0x90]]),
    );
    let headers = Headers::from([
        ("x".to_owned(), "y".to_owned()),
        ("z".to_owned(), "z".to_owned()),
    ]);
    golden(
        invocation(Some("xyz"), headers),
        &bytes(&[
            &[
                0x96, 0x01, 0x82, 0xa1, 0x78, 0xa1, 0x79, 0xa1, 0x7a, 0xa1, 0x7a,
            ],
            &XYZ,
            &METHOD,
            &[0x91, 0x2a, 0x90],
        ]),
    );
    let with_streams = HubMessage::Invocation {
        headers: Headers::new(),
        invocation_id: Some("xyz".into()),
        target: "method".into(),
        arguments: vec![],
        stream_ids: vec!["1".into()],
    };
    golden(
        with_streams,
        &bytes(&[
            &[0x96, 0x01, 0x80],
            &XYZ,
            &METHOD,
            &[0x90, 0x91, 0xa1, 0x31],
        ]),
    );
}

#[test]
fn legacy_invocation_without_stream_ids() {
    let body = bytes(&[&[0x95, 0x01, 0x80], &XYZ, &METHOD, &[0x91, 0x2a]]);
    assert_eq!(
        decode_msgpack(&body).unwrap(),
        invocation(Some("xyz"), Headers::new())
    );
}

#[test]
fn stream_items_and_completions_match_the_spec() {
    let h = Headers::new;
    golden(
        HubMessage::StreamItem {
            headers: h(),
            invocation_id: "xyz".into(),
            item: Value::from(42),
        },
        &bytes(&[&[0x94, 0x02, 0x80], &XYZ, &[0x2a]]),
    );
    let completion = |outcome| HubMessage::Completion {
        headers: h(),
        invocation_id: "xyz".into(),
        outcome,
    };
    golden(
        completion(Outcome::Error("Error".into())),
        &bytes(&[
            &[0x95, 0x03, 0x80],
            &XYZ,
            &[0x01, 0xa5, 0x45, 0x72, 0x72, 0x6f, 0x72],
        ]),
    );
    golden(
        completion(Outcome::Void),
        &bytes(&[&[0x94, 0x03, 0x80], &XYZ, &[0x02]]),
    );
    golden(
        completion(Outcome::Result(Value::from(42))),
        &bytes(&[&[0x95, 0x03, 0x80], &XYZ, &[0x03, 0x2a]]),
    );
    golden(
        completion(Outcome::Result(Value::Nil)),
        &bytes(&[&[0x95, 0x03, 0x80], &XYZ, &[0x03, 0xc0]]),
    );
    golden(
        HubMessage::CancelInvocation {
            headers: h(),
            invocation_id: "xyz".into(),
        },
        &bytes(&[&[0x93, 0x05, 0x80], &XYZ]),
    );
}

#[test]
fn control_messages_match_the_spec() {
    golden(HubMessage::Ping, &[0x91, 0x06]);
    let close = |error: Option<&str>, allow_reconnect| HubMessage::Close {
        error: error.map(str::to_owned),
        allow_reconnect,
    };
    // The spec's 2-item Close is the legacy layout: decoded, but we always write 3 items.
    let legacy = bytes(&[&[0x92, 0x07], &XYZ]);
    assert_eq!(decode_msgpack(&legacy).unwrap(), close(Some("xyz"), false));
    golden(
        close(Some("xyz"), false),
        &bytes(&[&[0x93, 0x07], &XYZ, &[0xc2]]),
    );
    golden(
        close(Some("xyz"), true),
        &bytes(&[&[0x93, 0x07], &XYZ, &[0xc3]]),
    );
    golden(close(None, false), &[0x93, 0x07, 0xc0, 0xc2]);
    // "any unsigned int size is fine": the spec uses uint8, we write the shortest form.
    assert_eq!(
        decode_msgpack(&[0x92, 0x08, 0xcc, 0x24]).unwrap(),
        HubMessage::Ack { sequence_id: 36 }
    );
    assert_eq!(
        decode_msgpack(&[0x92, 0x09, 0xcc, 0x13]).unwrap(),
        HubMessage::Sequence { sequence_id: 19 }
    );
    golden(HubMessage::Ack { sequence_id: 36 }, &[0x92, 0x08, 0x24]);
    golden(
        HubMessage::Sequence { sequence_id: 19 },
        &[0x92, 0x09, 0x13],
    );
    golden(
        HubMessage::Ack { sequence_id: 1394 },
        &[0x92, 0x08, 0xcd, 0x05, 0x72],
    );
}

#[test]
fn frames_carry_a_varint_prefix() {
    let mut out = Vec::new();
    encode_msgpack(&HubMessage::Ping, &mut out);
    encode_msgpack(&HubMessage::Ack { sequence_id: 1 }, &mut out);
    assert_eq!(out, [0x02, 0x91, 0x06, 0x03, 0x92, 0x08, 0x01]);
    let big = HubMessage::StreamItem {
        headers: Headers::new(),
        invocation_id: "1".into(),
        item: Value::Binary(vec![7; 300]),
    };
    let mut out = vec![0xEE];
    encode_msgpack(&big, &mut out);
    assert_eq!(out[0], 0xEE);
    let (len, prefix) = varint::read(&out[1..]).unwrap().unwrap();
    assert_eq!((len as usize, prefix), (out.len() - 3, 2));
    assert_eq!(decode_msgpack(&out[3..]).unwrap(), big);
}

#[test]
fn binary_and_extension_values_are_preserved() {
    let body = bytes(&[
        &[0x94, 0x02, 0x80],
        &XYZ,
        &[0x92, 0xc4, 0x02, 0x01, 0x02, 0xd4, 0x05, 0x07],
    ]);
    let expected = HubMessage::StreamItem {
        headers: Headers::new(),
        invocation_id: "xyz".into(),
        item: Value::Array(vec![Value::Binary(vec![1, 2]), Value::Ext(5, vec![7])]),
    };
    golden(expected, &body);
}

#[test]
fn malformed_bodies_are_typed_errors() {
    let err = |b: &[u8]| decode_msgpack(b).unwrap_err();
    assert_eq!(err(&[]), DecodeError::Truncated);
    assert_eq!(err(&[0x96, 0x01, 0x80, 0xa3, 0x78]), DecodeError::Truncated);
    assert_eq!(err(&[0x91, 0x06, 0x00]), DecodeError::TrailingBytes(1));
    assert_eq!(err(&[0x06]), DecodeError::NotAnArray);
    assert_eq!(err(&[0x90]), DecodeError::MissingField("type"));
    assert_eq!(err(&[0x91, 0x0a]), DecodeError::UnknownMessageType(10));
    assert_eq!(
        err(&[0x91, 0xff]),
        DecodeError::wrong_type("type", "a non-negative integer")
    );
    assert_eq!(
        err(&bytes(&[&[0x96, 0x01, 0x80], &XYZ, &[0x2a, 0x90, 0x90]])),
        DecodeError::wrong_type("target", "a string")
    );
    assert_eq!(
        err(&bytes(&[&[0x96, 0x01, 0x80, 0x01], &METHOD, &[0x90, 0x90]])),
        DecodeError::wrong_type("invocationId", "a string or nil")
    );
    assert_eq!(
        err(&bytes(&[&[0x96, 0x01, 0x80], &XYZ, &METHOD, &[0x2a, 0x90]])),
        DecodeError::wrong_type("arguments", "an array")
    );
    assert_eq!(
        err(&bytes(&[
            &[0x96, 0x01, 0x80],
            &XYZ,
            &METHOD,
            &[0x90, 0x91, 0x01]
        ])),
        DecodeError::wrong_type("streamIds", "an array of strings")
    );
    assert_eq!(
        err(&bytes(&[&[0x94, 0x03, 0x80], &XYZ, &[0x04]])),
        DecodeError::InvalidResultKind(4)
    );
    assert_eq!(
        err(&bytes(&[&[0x94, 0x03, 0x80], &XYZ, &[0x03]])),
        DecodeError::MissingField("result")
    );
    assert_eq!(
        err(&bytes(&[&[0x93, 0x05, 0x81, 0xa1, 0x78, 0x01], &XYZ])),
        DecodeError::wrong_type("headers", "a map of strings to strings")
    );
    assert_eq!(
        err(&[0x93, 0x05, 0x80, 0xa1, 0xff]),
        DecodeError::wrong_type("invocationId", "a utf-8 string")
    );
    assert_eq!(
        err(&[0x93, 0x07, 0xc0, 0x01]),
        DecodeError::wrong_type("allowReconnect", "a boolean")
    );
    assert_eq!(err(&[0x91, 0x08]), DecodeError::MissingField("sequenceId"));
    let mut deep = bytes(&[&[0x94, 0x02, 0x80], &XYZ]);
    deep.extend(std::iter::repeat_n(0x91, 1000));
    deep.push(0xc0);
    assert!(matches!(err(&deep), DecodeError::InvalidMessagePack(_)));
}
