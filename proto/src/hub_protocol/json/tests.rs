//! Golden tests against the JSON examples of the spec, and decode errors.

use serde_json::json;

use super::*;

fn headers_xy() -> Headers {
    Headers::from([("Foo".to_owned(), "Bar".to_owned())])
}

/// Encodes `msg`, checks the exact text, and decodes it back.
fn golden(msg: HubMessage<Value>, text: &str) {
    let mut out = Vec::new();
    encode_json(&msg, &mut out);
    assert_eq!(out.last(), Some(&RECORD_SEPARATOR));
    assert_eq!(std::str::from_utf8(&out[..out.len() - 1]).unwrap(), text);
    assert_eq!(decode_json(text.as_bytes()).unwrap(), msg);
}

#[test]
fn invocations_match_the_spec() {
    let args = vec![json!(42), json!("Test Message")];
    golden(
        HubMessage::Invocation {
            headers: Headers::new(),
            invocation_id: Some("123".into()),
            target: "Send".into(),
            arguments: args.clone(),
            stream_ids: vec![],
        },
        r#"{"type":1,"invocationId":"123","target":"Send","arguments":[42,"Test Message"]}"#,
    );
    golden(
        HubMessage::Invocation {
            headers: Headers::new(),
            invocation_id: None,
            target: "Send".into(),
            arguments: args.clone(),
            stream_ids: vec![],
        },
        r#"{"type":1,"target":"Send","arguments":[42,"Test Message"]}"#,
    );
    golden(
        HubMessage::Invocation {
            headers: Headers::new(),
            invocation_id: Some("123".into()),
            target: "Send".into(),
            arguments: vec![json!(42)],
            stream_ids: vec!["1".into()],
        },
        r#"{"type":1,"invocationId":"123","target":"Send","arguments":[42],"streamIds":["1"]}"#,
    );
    golden(
        HubMessage::Invocation {
            headers: headers_xy(),
            invocation_id: Some("123".into()),
            target: "Send".into(),
            arguments: args.clone(),
            stream_ids: vec![],
        },
        r#"{"type":1,"headers":{"Foo":"Bar"},"invocationId":"123","target":"Send","arguments":[42,"Test Message"]}"#,
    );
    golden(
        HubMessage::StreamInvocation {
            headers: Headers::new(),
            invocation_id: "123".into(),
            target: "Send".into(),
            arguments: args,
            stream_ids: vec![],
        },
        r#"{"type":4,"invocationId":"123","target":"Send","arguments":[42,"Test Message"]}"#,
    );
}

#[test]
fn other_messages_match_the_spec() {
    let h = Headers::new;
    let completion = |outcome| HubMessage::Completion {
        headers: h(),
        invocation_id: "123".into(),
        outcome,
    };
    golden(
        HubMessage::StreamItem {
            headers: h(),
            invocation_id: "123".into(),
            item: json!(42),
        },
        r#"{"type":2,"invocationId":"123","item":42}"#,
    );
    golden(
        completion(Outcome::Void),
        r#"{"type":3,"invocationId":"123"}"#,
    );
    golden(
        completion(Outcome::Result(json!(42))),
        r#"{"type":3,"invocationId":"123","result":42}"#,
    );
    golden(
        completion(Outcome::Result(Value::Null)),
        r#"{"type":3,"invocationId":"123","result":null}"#,
    );
    golden(
        completion(Outcome::Error("It didn't work!".into())),
        r#"{"type":3,"invocationId":"123","error":"It didn't work!"}"#,
    );
    golden(
        HubMessage::CancelInvocation {
            headers: headers_xy(),
            invocation_id: "123".into(),
        },
        r#"{"type":5,"headers":{"Foo":"Bar"},"invocationId":"123"}"#,
    );
    golden(HubMessage::Ping, r#"{"type":6}"#);
    let close = |error: Option<&str>, allow_reconnect| HubMessage::Close {
        error: error.map(str::to_owned),
        allow_reconnect,
    };
    golden(close(None, false), r#"{"type":7}"#);
    let err = "Connection closed because of an error!";
    golden(
        close(Some(err), false),
        r#"{"type":7,"error":"Connection closed because of an error!"}"#,
    );
    golden(
        close(Some(err), true),
        r#"{"type":7,"error":"Connection closed because of an error!","allowReconnect":true}"#,
    );
    golden(
        HubMessage::Ack { sequence_id: 1394 },
        r#"{"type":8,"sequenceId":1394}"#,
    );
    golden(
        HubMessage::Sequence { sequence_id: 1234 },
        r#"{"type":9,"sequenceId":1234}"#,
    );
}

#[test]
fn decoding_is_lenient_where_clients_differ() {
    // signalrcore sends empty headers and puts properties in its own order.
    let msg = decode_json(
        br#"{"arguments":["a"],"headers":{},"target":"Send","invocationId":null,"type":1,"x":0}"#,
    )
    .unwrap();
    assert_eq!(
        msg,
        HubMessage::Invocation {
            headers: Headers::new(),
            invocation_id: None,
            target: "Send".into(),
            arguments: vec![json!("a")],
            stream_ids: vec![],
        }
    );
    let spaced = decode_json(b" {\n \"type\": 6\n} ").unwrap();
    assert_eq!(spaced, HubMessage::Ping);
    let close = decode_json(br#"{"type":7,"error":null,"allowReconnect":false}"#).unwrap();
    assert_eq!(
        close,
        HubMessage::Close {
            error: None,
            allow_reconnect: false
        }
    );
}

#[test]
fn errors_name_the_field() {
    let err = |s: &str| decode_json(s.as_bytes()).unwrap_err();
    assert_eq!(err(r#"{"type":99}"#), DecodeError::UnknownMessageType(99));
    assert_eq!(err(r#"{"target":"x"}"#), DecodeError::MissingField("type"));
    assert_eq!(
        err(r#"{"type":"1"}"#),
        DecodeError::wrong_type("type", "a non-negative integer")
    );
    assert_eq!(err("[1]"), DecodeError::NotAnObject);
    assert!(matches!(err("{"), DecodeError::InvalidJson(_)));
    assert_eq!(
        decode_json(b"{\"type\":1,\"target\":\"\xff\"}").unwrap_err(),
        DecodeError::InvalidUtf8
    );
    assert_eq!(
        err(r#"{"type":1,"arguments":[]}"#),
        DecodeError::MissingField("target")
    );
    assert_eq!(
        err(r#"{"type":1,"target":"a"}"#),
        DecodeError::MissingField("arguments")
    );
    assert_eq!(
        err(r#"{"type":1,"target":5,"arguments":[]}"#),
        DecodeError::wrong_type("target", "a string")
    );
    assert_eq!(
        err(r#"{"type":1,"target":"a","arguments":{}}"#),
        DecodeError::wrong_type("arguments", "an array")
    );
    assert_eq!(
        err(r#"{"type":1,"target":"a","arguments":[],"streamIds":[1]}"#),
        DecodeError::wrong_type("streamIds", "an array of strings")
    );
    assert_eq!(
        err(r#"{"type":5,"headers":{"a":1},"invocationId":"1"}"#),
        DecodeError::wrong_type("headers", "an object with string values")
    );
    assert_eq!(
        err(r#"{"type":4,"target":"a","arguments":[]}"#),
        DecodeError::MissingField("invocationId")
    );
    assert_eq!(
        err(r#"{"type":2,"invocationId":"1"}"#),
        DecodeError::MissingField("item")
    );
    assert_eq!(
        err(r#"{"type":3,"invocationId":"1","result":1,"error":"e"}"#),
        DecodeError::ResultAndError
    );
    assert_eq!(
        err(r#"{"type":7,"allowReconnect":"yes"}"#),
        DecodeError::wrong_type("allowReconnect", "a boolean")
    );
    assert_eq!(
        err(r#"{"type":8}"#),
        DecodeError::MissingField("sequenceId")
    );
    assert_eq!(
        err(r#"{"type":9,"sequenceId":-1}"#),
        DecodeError::wrong_type("sequenceId", "a non-negative integer")
    );
}
