//! Keep-alive pings, the client timeout and the handshake timeout, observed with a raw
//! WebSocket that does only what each test needs.

use herald_tests::frames::{handshake_request, json_records, split_handshake};
use herald_tests::raw_ws::payload_bytes;
use herald_tests::wait::deadline_in;
use herald_tests::{HeraldConfig, HeraldProcess, RawWs, WsFrame, assert_serves_clients, unique};
use serde_json::{Value, json};

fn open(server: &HeraldProcess) -> RawWs {
    let hub = unique("timeouts");
    let url = format!("{}/client/?hub={hub}", server.ws_base_url());
    let token = server.client_token(&hub, "u1");
    RawWs::connect(&url, token.as_deref()).unwrap_or_else(|e| panic!("connect: {}", e.message))
}

fn handshake(ws: &mut RawWs) {
    ws.send_text(&handshake_request("json"));
    let frame = ws.next_frame(deadline_in(10)).expect("handshake response");
    assert_eq!(split_handshake(&payload_bytes(&[frame])).0, json!({}));
}

#[test]
fn keep_alive_pings_arrive_at_the_configured_interval() {
    let server = HeraldConfig::new()
        .env("HERALD_CLIENT_KEEP_ALIVE", "1s")
        .env("HERALD_CLIENT_TIMEOUT", "30s")
        .start();
    let mut ws = open(&server);
    handshake(&mut ws);
    // Within 3 seconds, at least two pings at a 1 s interval.
    let mut pings = 0;
    let deadline = deadline_in(3);
    while let Some(frame) = ws.next_frame(deadline) {
        assert!(
            matches!(frame, WsFrame::Text(_)),
            "unexpected frame {frame:?}"
        );
        let records = json_records(&payload_bytes(&[frame]));
        assert!(
            records.iter().all(|r| *r == json!({"type": 6})),
            "{records:?}"
        );
        pings += records.len();
    }
    assert!(pings >= 2, "{pings} pings in 3 s with a 1 s keep-alive");
    server.assert_no_panic();
}

#[test]
fn silent_clients_are_closed_after_the_client_timeout() {
    let server = HeraldConfig::new()
        .env("HERALD_CLIENT_KEEP_ALIVE", "1s")
        .env("HERALD_CLIENT_TIMEOUT", "2s")
        .start();
    let mut ws = open(&server);
    handshake(&mut ws);
    let (frames, closed) = ws.read_until_closed(deadline_in(8));
    assert!(
        closed,
        "silent client still open 8 s into a 2 s timeout; got {frames:?}"
    );
    let records: Vec<Value> = json_records(&payload_bytes(&frames))
        .into_iter()
        .filter(|r| r["type"] != 6)
        .collect();
    // Like ASP.NET Core, a Close message with the reason precedes the close.
    assert_eq!(
        records.len(),
        1,
        "expected one Close message, got {records:?}"
    );
    assert_eq!(records[0]["type"], 7, "{records:?}");
    assert!(
        records[0]["error"].as_str().is_some_and(|e| !e.is_empty()),
        "Close without an error: {records:?}"
    );
    assert_serves_clients(&server, None);
    server.assert_no_panic();
}

#[test]
fn connections_without_a_handshake_are_closed_after_the_handshake_timeout() {
    let server = HeraldConfig::new()
        .env("HERALD_CLIENT_HANDSHAKE_TIMEOUT", "1s")
        .start();
    let mut ws = open(&server);
    let (frames, closed) = ws.read_until_closed(deadline_in(6));
    assert!(
        closed,
        "no handshake, still open 6 s into a 1 s timeout; got {frames:?}"
    );
    let records = json_records(&payload_bytes(&frames));
    // A handshake error response precedes the close.
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
    assert_serves_clients(&server, None);
    server.assert_no_panic();
}
