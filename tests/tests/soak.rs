//! A bounded soak: 200 long-polling and 200 Server-Sent Events connections of the official JS
//! client (one node process) each receive a stream of 50 broadcasts, all of them in order,
//! and the `herald_connections` gauges return to 0 once they leave.

use herald_tests::metrics::{assert_connections_drop_to_zero, gauge_sum};
use herald_tests::wait::deadline_in;
use herald_tests::{HeraldConfig, JsFleet, Transport, unique, wait_until};
use serde_json::json;
use std::time::Duration;

const PER_TRANSPORT: usize = 200;
const MESSAGES: u64 = 50;

#[test]
fn four_hundred_http_clients_receive_every_broadcast_in_order() {
    let server = HeraldConfig::new().start();
    let hub = unique("soak");
    let user = unique("user");
    let token = server.client_token(&hub, &user);
    let groups = [
        (Transport::LongPolling, PER_TRANSPORT),
        (Transport::ServerSentEvents, PER_TRANSPORT),
    ];
    let mut fleet = JsFleet::connect(
        &server.client_url(&hub),
        token.as_deref(),
        &groups,
        "num",
        usize::try_from(MESSAGES).expect("small"),
        Duration::from_secs(40),
    );
    let total = 2.0 * f64::from(u32::try_from(PER_TRANSPORT).expect("small"));
    let all_counted = wait_until(deadline_in(10), || {
        gauge_sum(&server.admin_get("/metrics").1, "herald_connections") == total
    });
    assert!(
        all_counted,
        "herald_connections does not sum to {total}:\n{}",
        server.admin_get("/metrics").1
    );

    let rest = server.rest();
    for n in 0..MESSAGES {
        rest.broadcast(&hub, "num", &json!([n])).assert_status(202);
    }
    let received = fleet.wait_complete(Duration::from_secs(40));
    let expected: Vec<u64> = (0..MESSAGES).collect();
    for (index, (transport, numbers)) in received.iter().enumerate() {
        assert_eq!(
            numbers, &expected,
            "connection #{index} over {transport} did not get every number in order"
        );
    }
    let long_polling = received
        .iter()
        .filter(|(transport, _)| transport == "LongPolling")
        .count();
    assert_eq!(long_polling, PER_TRANSPORT);

    fleet.stop(Duration::from_secs(40));
    assert_connections_drop_to_zero(&server, 20);
    server.assert_no_panic();
}
