//! SIGTERM: clients are told to reconnect (Close with `allowReconnect: true`) and the process
//! exits with status 0 within the grace period.

use herald_tests::frames::{handshake_request, json_records, split_handshake};
use herald_tests::raw_ws::payload_bytes;
use herald_tests::wait::deadline_in;
use herald_tests::{HeraldConfig, JsClient, JsOptions, Protocol, RawWs, unique};
use serde_json::{Value, json};
use std::time::{Duration, Instant};

/// The grace period the server is started with.
const GRACE_SECONDS: u64 = 5;

#[test]
fn sigterm_asks_clients_to_reconnect_and_exits_zero() {
    let mut server = HeraldConfig::new()
        .shutdown_grace_period(&format!("{GRACE_SECONDS}s"))
        .start();
    let hub = unique("shutdown");
    let mut clients: Vec<JsClient> = [Protocol::Json, Protocol::MessagePack]
        .into_iter()
        .map(|protocol| {
            JsClient::connect(
                &JsOptions::new(
                    &server.client_url(&hub),
                    server.client_token(&hub, &unique("user")),
                    &["msg"],
                )
                .protocol(protocol)
                .automatic_reconnect(),
            )
        })
        .collect();

    // A raw client sees the Close message itself.
    let url = format!("{}/client/?hub={hub}", server.ws_base_url());
    let token = server.client_token(&hub, "raw");
    let mut raw =
        RawWs::connect(&url, token.as_deref()).unwrap_or_else(|e| panic!("{}", e.message));
    raw.send_text(&handshake_request("json"));
    let first = raw.next_frame(deadline_in(10)).expect("handshake response");
    let first = payload_bytes(&[first]);
    assert_eq!(split_handshake(&first).0, json!({}));

    server.sigterm();
    let exit_deadline = Instant::now() + Duration::from_secs(GRACE_SECONDS);

    let (frames, closed) = raw.read_until_closed(deadline_in(GRACE_SECONDS + 5));
    assert!(
        closed,
        "raw client not closed after SIGTERM; got {frames:?}"
    );
    let records: Vec<Value> = json_records(&payload_bytes(&frames))
        .into_iter()
        .filter(|r| r["type"] != 6)
        .collect();
    assert_eq!(
        records.len(),
        1,
        "expected one Close message, got {records:?}"
    );
    assert_eq!(records[0]["type"], 7, "{records:?}");
    assert_eq!(
        records[0],
        json!({"type": 7, "allowReconnect": true}),
        "a shutdown is no error: {records:?}"
    );

    for client in &mut clients {
        let event = client.wait_for_event("reconnecting", Duration::from_secs(GRACE_SECONDS + 5));
        // No error: a dropped socket would say "WebSocket closed with status code: ..." instead.
        assert_eq!(event, json!({"event": "reconnecting", "error": null}));
        let closed_early = client
            .driver()
            .seen()
            .iter()
            .any(|e| e["event"] == "closed");
        assert!(
            !closed_early,
            "client closed instead of reconnecting: {:?}",
            client.driver().seen()
        );
    }

    let status = server
        .wait_exit(exit_deadline.saturating_duration_since(Instant::now()))
        .unwrap_or_else(|| {
            panic!("herald still running {GRACE_SECONDS}s (the grace period) after SIGTERM")
        });
    assert_eq!(
        status.code(),
        Some(0),
        "exit status {status}; log:\n{}",
        server.log()
    );
    server.assert_no_panic();
}

#[test]
fn sigterm_with_no_clients_exits_zero_promptly() {
    let mut server = HeraldConfig::new()
        .shutdown_grace_period(&format!("{GRACE_SECONDS}s"))
        .start();
    server.sigterm();
    let status = server
        .wait_exit(Duration::from_secs(GRACE_SECONDS))
        .unwrap_or_else(|| panic!("herald still running {GRACE_SECONDS}s after SIGTERM"));
    assert_eq!(
        status.code(),
        Some(0),
        "exit status {status}; log:\n{}",
        server.log()
    );
    server.assert_no_panic();
}
