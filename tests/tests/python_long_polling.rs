//! The Python `signalrcore` client, with long polling requested explicitly, receives sends.
//!
//! The server runs in anonymous mode: signalrcore 1.0.2 sends its `Authorization` header with
//! negotiate and `POST` but not with the polls (`LongPollingBaseClient._recv_frame` sends only
//! `Accept`), so with a token every poll would get 401. signalrcore also posts its handshake
//! before its first poll, unlike the JS client.

use herald_tests::metrics::{assert_connections_drop_to_zero, sample};
use herald_tests::wait::deadline_in;
use herald_tests::{HeraldConfig, HeraldProcess, PyClient, Transport, unique, wait_until};
use serde_json::json;
use std::time::Duration;

fn connect(server: &HeraldProcess, hub: &str) -> PyClient {
    PyClient::connect_over(
        Transport::LongPolling,
        &server.client_url(hub),
        None,
        &["msg"],
    )
}

fn stop(client: &mut PyClient, server: &HeraldProcess) {
    client.driver().command(&json!({"cmd": "stop"}));
    client
        .driver()
        .wait_for_event("stopped", Duration::from_secs(20));
    assert_connections_drop_to_zero(server, 10);
    server.assert_no_panic();
}

#[test]
fn signalrcore_over_long_polling_receives_broadcasts() {
    let server = HeraldConfig::new().anonymous().start();
    let hub = unique("python_lp");
    let mut client = connect(&server, &hub);
    let rest = server.rest();
    let broadcast = json!(["over long polling ✓", 5, {"nested": [false, null]}]);
    rest.broadcast(&hub, "msg", &broadcast).assert_status(202);
    client.expect_message("msg", &broadcast);
    let second = json!(["a second poll"]);
    rest.broadcast(&hub, "msg", &second).assert_status(202);
    client.expect_message("msg", &second);
    stop(&mut client, &server);
}

/// signalrcore's handshake reaches herald before any poll: the connection must still be
/// counted under `transport="LongPolling"`.
#[test]
fn signalrcore_long_polling_connection_is_counted_as_long_polling() {
    let server = HeraldConfig::new().anonymous().start();
    let hub = unique("python_lp");
    let mut client = connect(&server, &hub);
    let series =
        format!("herald_connections{{hub=\"{hub}\",transport=\"LongPolling\",protocol=\"json\"}}");
    let counted = wait_until(deadline_in(5), || {
        sample(&server.admin_get("/metrics").1, &series) == Some(1.0)
    });
    assert!(
        counted,
        "{series} is not 1:\n{}",
        server.admin_get("/metrics").1
    );
    stop(&mut client, &server);
}
