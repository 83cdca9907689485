//! Malformed input over raw WebSockets: the server answers with a handshake error or a SignalR
//! Close message, closes that connection, keeps serving everyone else and never panics.

use herald_tests::frames::{
    handshake_request, json_records, msgpack_frame, msgpack_records, split_handshake,
};
use herald_tests::negotiate::negotiate;
use herald_tests::raw_ws::payload_bytes;
use herald_tests::wait::deadline_in;
use herald_tests::{
    Auth, HeraldConfig, HeraldProcess, JsClient, JsOptions, RawWs, assert_serves_clients, unique,
};
use serde_json::{Value, json};

/// Seconds to wait for the server to answer and close.
const ANSWER_SECONDS: u64 = 10;

/// A raw WebSocket to a fresh hub, authenticated, without a negotiate id.
fn open(server: &HeraldProcess, hub: &str) -> RawWs {
    let url = format!("{}/client/?hub={hub}", server.ws_base_url());
    let token = server.client_token(hub, &unique("raw"));
    RawWs::connect(&url, token.as_deref())
        .unwrap_or_else(|e| panic!("connect {url}: {}", e.message))
}

/// Sends a valid handshake for `protocol` and asserts the empty success response.
fn handshake(ws: &mut RawWs, protocol: &str) {
    ws.send_text(&handshake_request(protocol));
    let frame = ws
        .next_frame(deadline_in(ANSWER_SECONDS))
        .expect("handshake response");
    let bytes = payload_bytes(&[frame]);
    let (response, rest) = split_handshake(&bytes);
    assert_eq!(response, json!({}), "handshake response");
    assert_eq!(rest, b"", "nothing after the handshake response");
}

/// Reads until the server closes and asserts it sent exactly one handshake error response.
fn expect_handshake_error(ws: &mut RawWs) {
    let (frames, closed) = ws.read_until_closed(deadline_in(ANSWER_SECONDS));
    assert!(
        closed,
        "server did not close after a handshake error; got {frames:?}"
    );
    let records = json_records(&payload_bytes(&frames));
    assert_eq!(
        records.len(),
        1,
        "expected one handshake response, got {records:?}"
    );
    let object = records[0].as_object().expect("handshake response object");
    assert_eq!(
        object.keys().collect::<Vec<_>>(),
        vec!["error"],
        "{records:?}"
    );
    assert!(
        object["error"].as_str().is_some_and(|e| !e.is_empty()),
        "handshake error without a message: {records:?}"
    );
}

/// Reads until the server closes and asserts its only non-ping record was a JSON Close message
/// with a non-empty error and no permission to reconnect.
fn expect_json_close(ws: &mut RawWs) {
    let (frames, closed) = ws.read_until_closed(deadline_in(ANSWER_SECONDS));
    assert!(closed, "server did not close; got {frames:?}");
    let records: Vec<Value> = json_records(&payload_bytes(&frames))
        .into_iter()
        .filter(|r| r["type"] != 6)
        .collect();
    assert_eq!(
        records.len(),
        1,
        "expected one Close message, got {records:?}"
    );
    let close = &records[0];
    assert_eq!(close["type"], 7, "{close}");
    assert!(
        close["error"].as_str().is_some_and(|e| !e.is_empty()),
        "Close without an error: {close}"
    );
    assert!(
        matches!(close.get("allowReconnect"), None | Some(Value::Bool(false))),
        "Close after bad input must not invite a reconnect: {close}"
    );
}

/// Like [`expect_json_close`] for the MessagePack protocol (after the JSON handshake).
fn expect_msgpack_close(ws: &mut RawWs) {
    let (frames, closed) = ws.read_until_closed(deadline_in(ANSWER_SECONDS));
    assert!(closed, "server did not close; got {frames:?}");
    let records: Vec<rmpv::Value> = msgpack_records(&payload_bytes(&frames))
        .into_iter()
        .filter(|r| {
            r.as_array()
                .and_then(|a| a.first())
                .and_then(rmpv::Value::as_u64)
                != Some(6)
        })
        .collect();
    assert_eq!(
        records.len(),
        1,
        "expected one Close message, got {records:?}"
    );
    let close = records[0]
        .as_array()
        .expect("MessagePack messages are arrays");
    assert_eq!(close[0].as_u64(), Some(7), "{close:?}");
    assert!(
        close
            .get(1)
            .and_then(rmpv::Value::as_str)
            .is_some_and(|e| !e.is_empty()),
        "Close without an error: {close:?}"
    );
    assert!(
        matches!(close.get(2), None | Some(rmpv::Value::Boolean(false))),
        "Close after bad input must not invite a reconnect: {close:?}"
    );
}

/// Proves the server still serves a client connected before the bad input, and a fresh one.
fn assert_still_serving(server: &HeraldProcess, bystander: &mut JsClient, hub: &str) {
    let arguments = json!(["after bad input"]);
    server
        .rest()
        .broadcast(hub, "msg", &arguments)
        .assert_status(202);
    bystander.expect_message("msg", &arguments);
    assert_serves_clients(server, None);
    server.assert_no_panic();
}

/// Starts a server (max message size 1024 bytes) with one JS client connected to `hub`.
fn server_with_bystander(hub: &str) -> (HeraldProcess, JsClient) {
    let server = HeraldConfig::new().max_message_size(1024).start();
    let bystander = JsClient::connect(&JsOptions::new(
        &server.client_url(hub),
        server.client_token(hub, &unique("bystander")),
        &["msg"],
    ));
    (server, bystander)
}

#[test]
fn garbage_before_the_handshake_gets_a_handshake_error() {
    let hub = unique("bad");
    let (server, mut bystander) = server_with_bystander(&hub);
    let mut ws = open(&server, &hub);
    ws.send_text("\u{1}\u{2}garbage{{{ not a handshake\u{1e}");
    expect_handshake_error(&mut ws);
    assert_still_serving(&server, &mut bystander, &hub);
}

#[test]
fn unknown_protocol_gets_a_handshake_error() {
    let hub = unique("bad");
    let (server, mut bystander) = server_with_bystander(&hub);
    let mut ws = open(&server, &hub);
    ws.send_text(&handshake_request("klingon"));
    expect_handshake_error(&mut ws);
    let mut ws = open(&server, &hub);
    ws.send_text("{\"protocol\":\"json\",\"version\":99}\u{1e}");
    expect_handshake_error(&mut ws);
    assert_still_serving(&server, &mut bystander, &hub);
}

#[test]
fn invalid_json_after_the_handshake_gets_a_close_message() {
    let hub = unique("bad");
    let (server, mut bystander) = server_with_bystander(&hub);
    let mut ws = open(&server, &hub);
    handshake(&mut ws, "json");
    ws.send_text("{\"type\":1,\"target\":\u{1e}");
    expect_json_close(&mut ws);
    assert_still_serving(&server, &mut bystander, &hub);
}

#[test]
fn invalid_utf8_after_the_handshake_gets_a_close_message() {
    let hub = unique("bad");
    let (server, mut bystander) = server_with_bystander(&hub);
    let mut ws = open(&server, &hub);
    handshake(&mut ws, "json");
    ws.send_raw_text_frame(b"{\"type\":1,\"target\":\"\xff\xfe\",\"arguments\":[]}\x1e");
    expect_json_close(&mut ws);
    assert_still_serving(&server, &mut bystander, &hub);
}

#[test]
fn truncated_messagepack_gets_a_close_message() {
    let hub = unique("bad");
    let (server, mut bystander) = server_with_bystander(&hub);
    let mut ws = open(&server, &hub);
    handshake(&mut ws, "messagepack");
    // An array announced with 5 elements that holds only 2.
    ws.send_binary(&msgpack_frame(&[0x95, 0x01, 0x80]));
    expect_msgpack_close(&mut ws);
    assert_still_serving(&server, &mut bystander, &hub);
}

#[test]
fn oversized_message_gets_a_close_message() {
    let hub = unique("bad");
    let (server, mut bystander) = server_with_bystander(&hub);
    let mut ws = open(&server, &hub);
    handshake(&mut ws, "json");
    let big = json!({"type": 1, "target": "x", "arguments": ["a".repeat(4096)]});
    ws.send_text(&format!("{big}\u{1e}"));
    expect_json_close(&mut ws);
    // An unterminated record that grows past the limit is refused as well.
    let mut ws = open(&server, &hub);
    handshake(&mut ws, "json");
    ws.send_text(&format!("{{\"type\":1,\"target\":\"{}", "b".repeat(2048)));
    expect_json_close(&mut ws);
    assert_still_serving(&server, &mut bystander, &hub);
}

#[test]
fn unknown_negotiate_id_is_404() {
    let hub = unique("bad");
    let (server, mut bystander) = server_with_bystander(&hub);
    let token = server.client_token(&hub, "u1").expect("keyed server");
    let url = format!("{}/client/?hub={hub}&id=doesnotexist", server.ws_base_url());
    let refused = RawWs::connect(&url, Some(&token))
        .err()
        .expect("unknown id refused");
    assert_eq!(refused.status, Some(404), "{}", refused.message);
    assert_still_serving(&server, &mut bystander, &hub);
}

#[test]
fn unknown_hub_is_404_when_hubs_are_restricted() {
    let server = HeraldConfig::new().hubs(&["chat", "other"]).start();
    let token = server
        .client_token("elsewhere", "u1")
        .expect("keyed server");
    let reply = negotiate(&server, "elsewhere", "", &Auth::Bearer(token.clone()));
    assert_eq!(reply.status, 404, "{}", reply.body);
    let url = format!("{}/client/?hub=elsewhere", server.ws_base_url());
    let refused = RawWs::connect(&url, Some(&token))
        .err()
        .expect("unknown hub refused");
    assert_eq!(refused.status, Some(404), "{}", refused.message);
    let chat_token = server.client_token("chat", "u1").expect("keyed server");
    assert_eq!(
        negotiate(&server, "chat", "", &Auth::Bearer(chat_token)).status,
        200
    );
    assert_serves_clients(&server, Some("chat"));
    server.assert_no_panic();
}

#[test]
fn negotiate_without_a_valid_hub_is_400() {
    let server = HeraldConfig::new().start();
    let rest = herald_tests::Rest::new(&server.base_url(), None);
    let token = server.client_token("chat", "u1").expect("keyed server");
    let auth = Auth::Bearer(token);
    rest.request("POST", "/client/negotiate?negotiateVersion=1", None, &auth)
        .assert_error(400);
    for path in [
        "/client/negotiate?hub=chat-room&negotiateVersion=1",
        "/client/negotiate?hub=9lives&negotiateVersion=1",
        "/hubs/chat-room/negotiate?negotiateVersion=1",
    ] {
        rest.request("POST", path, None, &auth).assert_error(400);
    }
    assert_serves_clients(&server, None);
    server.assert_no_panic();
}
