//! Stateful reconnect: the JS client (`withStatefulReconnect()`, WebSockets) connects through a
//! TCP proxy whose connections are cut mid-stream. The client reconnects its WebSocket with the
//! same connection, herald replays what was not acknowledged, and the application sees every
//! message exactly once, in order, without any `reconnecting` or `closed` event.
//!
//! Messages are sent with REST directly to herald, so they keep coming while the client has
//! no transport.

use herald_tests::frames::{RS, json_records};
use herald_tests::metrics::{assert_connections_drop_to_zero, sample};
use herald_tests::negotiate::connection_token;
use herald_tests::raw_ws::{RawWs, WsFrame};
use herald_tests::wait::deadline_in;
use herald_tests::{Auth, HeraldConfig, JsClient, JsOptions, Rest, TcpProxy, unique, wait_until};
use serde_json::{Value, json};
use std::net::SocketAddr;
use std::time::Duration;

/// Messages sent between two cuts.
const BATCH: u64 = 100;
/// How many times the proxy cuts the client's connections.
const CUTS: u64 = 2;

fn send_batch(rest: &Rest, hub: &str, batch: u64) {
    for n in batch * BATCH..(batch + 1) * BATCH {
        rest.broadcast(hub, "num", &json!([n])).assert_status(202);
    }
}

#[test]
fn messages_survive_cut_connections_exactly_once_in_order() {
    let server = HeraldConfig::new().start();
    let upstream: SocketAddr = format!("127.0.0.1:{}", server.config().listen_port)
        .parse()
        .expect("herald address");
    let proxy = TcpProxy::start(upstream);
    let hub = unique("stateful");
    let user = unique("user");
    // The token's audience is herald's own endpoint, whatever address the client dials.
    let url = format!("{}/client/?hub={hub}", proxy.base_url());
    let options = JsOptions::new(&url, server.client_token(&hub, &user), &["num", "end"])
        .stateful_reconnect();
    let mut client = JsClient::connect(&options);
    assert_eq!(client.transport_class(), Some("WebSocketTransport"));
    let rest = server.rest();

    // Batch 0 with the first transport; each further batch starts right after a cut, while the
    // client may still be reconnecting, and the next cut waits for the new WebSocket.
    send_batch(&rest, &hub, 0);
    for cut in 1..=CUTS {
        let accepted = proxy.accepted();
        let cut_count = proxy.kill_all();
        assert!(cut_count >= 1, "cut {cut}: no connection through the proxy");
        send_batch(&rest, &hub, cut);
        let reconnected = wait_until(deadline_in(15), || proxy.accepted() > accepted);
        assert!(reconnected, "cut {cut}: the client did not reconnect");
    }
    send_batch(&rest, &hub, CUTS + 1);
    // A last message: anything duplicated would arrive before it.
    rest.broadcast(&hub, "end", &json!(["end"]))
        .assert_status(202);

    let total = (CUTS + 2) * BATCH;
    let mut received = Vec::new();
    loop {
        let event = client.driver().wait_for(
            "a message, closed or reconnecting",
            Duration::from_secs(20),
            |e| {
                matches!(
                    e["event"].as_str(),
                    Some("message" | "closed" | "reconnecting")
                )
            },
        );
        assert_eq!(
            event["event"],
            "message",
            "stateful reconnect must be transparent; received {} of {total} before {event}",
            received.len()
        );
        if event["target"] == "end" {
            break;
        }
        received.push(event["arguments"][0].as_u64().expect("a number"));
    }
    let expected: Vec<u64> = (0..total).collect();
    assert_eq!(received, expected, "every number exactly once, in order");

    // Herald saw exactly one stateful reconnect per cut.
    let metrics = server.admin_get("/metrics").1;
    assert_eq!(
        sample(&metrics, "herald_stateful_reconnects_total"),
        Some(f64::from(u32::try_from(CUTS).expect("small"))),
        "{metrics}"
    );
    let events: Vec<&Value> = client
        .driver()
        .seen()
        .iter()
        .filter(|e| !matches!(e["event"].as_str(), Some("message" | "connected")))
        .collect();
    assert!(events.is_empty(), "unexpected events: {events:?}");

    client.stop();
    assert_connections_drop_to_zero(&server, 10);
    server.assert_no_panic();
}

#[test]
fn negotiate_answers_use_stateful_reconnect_only_when_asked() {
    let server = HeraldConfig::new().anonymous().start();
    let hub = unique("stateful");
    let rest = Rest::new(&server.base_url(), None);
    let path = format!("/client/negotiate?hub={hub}&negotiateVersion=1");
    let asked = rest.request(
        "POST",
        &format!("{path}&useStatefulReconnect=true"),
        None,
        &Auth::None,
    );
    asked.assert_status(200);
    assert_eq!(asked.json()["useStatefulReconnect"], json!(true));
    let plain = rest.request("POST", &path, None, &Auth::None);
    plain.assert_status(200);
    let flag = plain.json().get("useStatefulReconnect").cloned();
    assert!(
        matches!(flag, None | Some(Value::Bool(false))),
        "useStatefulReconnect without asking: {flag:?}"
    );
}

/// The next `count` JSON records from `ws` other than pings.
fn records(ws: &mut RawWs, count: usize) -> Vec<Value> {
    let deadline = deadline_in(10);
    let mut out = Vec::new();
    while out.len() < count {
        match ws.next_frame(deadline) {
            Some(WsFrame::Text(text)) => out.extend(
                json_records(text.as_bytes())
                    .into_iter()
                    .filter(|r| r["type"] != 6),
            ),
            other => panic!("expected {count} records, got {out:?} then {other:?}"),
        }
    }
    out
}

fn num(n: u64) -> Value {
    json!({"type": 1, "target": "num", "arguments": [n]})
}

/// The server side of the protocol on a raw WebSocket (JSON protocol version 2): after an
/// abrupt drop the connection resumes on a new WebSocket with the same id, herald announces
/// with `Sequence` the id of the first message it sends again (the first one it has not seen
/// acknowledged) and sends everything from there.
#[test]
fn raw_websocket_resumes_from_the_first_unacknowledged_message() {
    let server = HeraldConfig::new().anonymous().start();
    let hub = unique("stateful");
    let rest = Rest::new(&server.base_url(), None);
    let negotiated = rest.request(
        "POST",
        &format!("/client/negotiate?hub={hub}&negotiateVersion=1&useStatefulReconnect=true"),
        None,
        &Auth::None,
    );
    negotiated.assert_status(200);
    let token = connection_token(&negotiated);
    let url = format!("{}/client/?hub={hub}&id={token}", server.ws_base_url());
    let mut ws = RawWs::connect(&url, None).expect("first WebSocket");
    ws.send_text(&format!("{{\"protocol\":\"json\",\"version\":2}}{RS}"));
    assert_eq!(records(&mut ws, 1), vec![json!({})], "handshake response");
    let broadcaster = server.rest();
    for n in 0..3 {
        broadcaster
            .broadcast(&hub, "num", &json!([n]))
            .assert_status(202);
    }
    assert_eq!(records(&mut ws, 3), vec![num(0), num(1), num(2)]);
    // Acknowledge the first message only, then drop the TCP connection without a close frame.
    ws.send_text(&format!("{{\"type\":8,\"sequenceId\":1}}{RS}"));
    drop(ws);
    for n in 3..5 {
        broadcaster
            .broadcast(&hub, "num", &json!([n]))
            .assert_status(202);
    }

    let mut ws = RawWs::connect(&url, None).expect("the WebSocket reconnects with the same id");
    ws.send_text(&format!("{{\"type\":9,\"sequenceId\":1}}{RS}"));
    // The Ack raced with the drop: the server may or may not have read it before the socket
    // went away. Either way it announces the id of the first message it sends again and sends
    // everything from there, so the client (which drops ids it has seen) loses nothing.
    let first = records(&mut ws, 1);
    let sequence = first[0]["sequenceId"].as_u64().unwrap_or(0);
    assert_eq!(first[0]["type"], 9, "a Sequence message first: {first:?}");
    assert!(
        sequence == 1 || sequence == 2,
        "the first unacknowledged id is 1 (ack not read) or 2 (ack read): {first:?}"
    );
    // Ids are numbers + 1: id `sequence` carries number `sequence - 1`.
    let expected: Vec<Value> = (sequence - 1..5).map(num).collect();
    assert_eq!(records(&mut ws, expected.len()), expected);
    broadcaster
        .broadcast(&hub, "num", &json!([5]))
        .assert_status(202);
    assert_eq!(records(&mut ws, 1), vec![num(5)]);
    // A close frame ends a stateful connection at once.
    ws.close();
    assert_connections_drop_to_zero(&server, 10);
    server.assert_no_panic();
}
