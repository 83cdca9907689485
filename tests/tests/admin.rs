//! The admin listener: health, readiness and the connection gauge in `/metrics`.

use herald_tests::metrics::gauge_sum;
use herald_tests::wait::deadline_in;
use herald_tests::{HeraldConfig, JsClient, JsOptions, unique, wait_until};

#[test]
fn health_and_readiness_answer_200() {
    let server = HeraldConfig::new().start();
    assert_eq!(server.admin_get("/healthz").0, 200);
    assert_eq!(server.admin_get("/readyz").0, 200);
}

#[test]
fn connection_gauge_follows_clients() {
    let server = HeraldConfig::new().start();
    let (status, text) = server.admin_get("/metrics");
    assert_eq!(status, 200);
    assert_eq!(gauge_sum(&text, "connections"), 0.0, "{text}");

    let hub = unique("metrics");
    let mut client = JsClient::connect(&JsOptions::new(
        &server.client_url(&hub),
        server.client_token(&hub, "u1"),
        &["msg"],
    ));
    let one = wait_until(deadline_in(10), || {
        gauge_sum(&server.admin_get("/metrics").1, "connections") == 1.0
    });
    assert!(
        one,
        "gauge not 1 with one client:\n{}",
        server.admin_get("/metrics").1
    );

    client.stop();
    let zero = wait_until(deadline_in(10), || {
        gauge_sum(&server.admin_get("/metrics").1, "connections") == 0.0
    });
    assert!(
        zero,
        "gauge not back to 0:\n{}",
        server.admin_get("/metrics").1
    );
    server.assert_no_panic();
}
