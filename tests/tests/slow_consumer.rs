//! A client that stops reading is closed as a slow consumer once its bounded outbound queue is
//! full, instead of making the server buffer without limit; everyone else is served on.

use herald_tests::frames::{handshake_request, split_handshake};
use herald_tests::metrics::sum_of;
use herald_tests::raw_ws::payload_bytes;
use herald_tests::wait::deadline_in;
use herald_tests::{HeraldConfig, RawWs, assert_serves_clients, unique, wait_until};
use serde_json::json;

/// Broadcasts of about 900 KB each: a few fill the socket buffers, then the queue fills.
const BIG: usize = 900_000;
/// Upper bound on broadcasts sent before the server must have given up on the client.
const MAX_BROADCASTS: usize = 200;

#[test]
fn a_client_that_stops_reading_is_closed_and_others_are_served() {
    let server = HeraldConfig::new()
        .env("HERALD_CLIENT_OUTBOUND_QUEUE", "16")
        .start();
    let hub = unique("slow");
    let url = format!("{}/client/?hub={hub}", server.ws_base_url());
    let token = server.client_token(&hub, "sleepy");
    let mut slow = RawWs::connect(&url, token.as_deref()).expect("connect");
    slow.send_text(&handshake_request("json"));
    let frame = slow
        .next_frame(deadline_in(10))
        .expect("handshake response");
    assert_eq!(split_handshake(&payload_bytes(&[frame])).0, json!({}));
    // From here on the client never reads.
    let series =
        format!(r#"herald_connections{{hub="{hub}",transport="WebSockets",protocol="json"}}"#);
    assert!(
        wait_until(deadline_in(10), || sum_of(
            &server.admin_get("/metrics").1,
            &series
        ) == 1.0),
        "the client is counted as connected"
    );

    let rest = server.rest();
    let argument = json!(["x".repeat(BIG)]);
    let closed_slow = |server: &herald_tests::HeraldProcess| {
        sum_of(
            &server.admin_get("/metrics").1,
            r#"herald_connections_closed_total{reason="slow_consumer"}"#,
        )
    };
    let mut sent = 0;
    while sent < MAX_BROADCASTS && closed_slow(&server) < 1.0 {
        rest.broadcast(&hub, "big", &argument).assert_status(202);
        sent += 1;
    }
    assert!(
        wait_until(deadline_in(10), || closed_slow(&server) == 1.0),
        "no slow-consumer close after {sent} broadcasts of {BIG} bytes"
    );
    let metrics = server.admin_get("/metrics").1;
    assert_eq!(
        sum_of(
            &metrics,
            &format!(r#"herald_slow_consumers_total{{hub="{hub}"}}"#)
        ),
        1.0,
        "{metrics}"
    );
    assert!(
        wait_until(deadline_in(10), || {
            let metrics = server.admin_get("/metrics").1;
            let series = format!(
                r#"herald_connections{{hub="{hub}",transport="WebSockets",protocol="json"}}"#
            );
            sum_of(&metrics, &series) == 0.0
        }),
        "the slow client's connection is still counted"
    );
    // The server keeps serving others.
    assert_serves_clients(&server, None);
    drop(slow);
    server.assert_no_panic();
}
