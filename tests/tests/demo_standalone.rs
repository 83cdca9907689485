//! The standalone demo without a browser: `herald` alone runs the embedded Cosmos DB account,
//! the `stocks` feed over its 4 feed ranges and the price writer, so the official JavaScript
//! client subscribed to hub `stocks` receives `stockUpdated` pushes; documents written with
//! `herald write` (or the write endpoint) arrive the same way; the switches turn it off.

use herald_tests::binary::herald_binary;
use herald_tests::rest::Auth;
use herald_tests::{HeraldConfig, JsClient, JsOptions};
use serde_json::Value;
use std::process::Command;
use std::time::{Duration, Instant};

const HUB: &str = "stocks";
const WRITE_PATH: &str = "/api/embedded/dbs/demo/colls/stocks/docs";

fn subscribe(server: &herald_tests::HeraldProcess) -> JsClient {
    let options = JsOptions::new(
        &server.client_url(HUB),
        server.client_token(HUB, "viewer"),
        &["stockUpdated"],
    );
    JsClient::connect(&options)
}

/// The next `stockUpdated` whose document is `symbol`'s, skipping others, within `timeout`.
fn next_of(client: &mut JsClient, symbol: &str, timeout: Duration) -> Option<Value> {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        let event = client
            .driver()
            .next_event(deadline.saturating_duration_since(Instant::now()))?;
        if event["event"] == "message" && event["arguments"][0]["symbol"] == symbol {
            return Some(event);
        }
    }
    None
}

#[test]
fn the_official_client_receives_the_writers_prices_through_the_stocks_feed() {
    let server = HeraldConfig::new().demo().anonymous().start();
    let mut client = subscribe(&server);
    let mut symbols = std::collections::BTreeSet::new();
    let mut keys = std::collections::BTreeSet::new();
    while symbols.len() < 3 {
        let message = client.next_message();
        assert_eq!(message["target"], "stockUpdated", "{message}");
        let (document, meta) = (&message["arguments"][0], &message["arguments"][1]);
        let fields: Vec<&str> = document
            .as_object()
            .expect("a document")
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(
            fields,
            ["change", "price", "symbol"],
            "projected: {document}"
        );
        assert!(
            document["price"].as_f64().is_some_and(|p| p > 0.0),
            "{document}"
        );
        assert_eq!(meta["feed"], "stocks");
        let symbol = document["symbol"].as_str().expect("symbol");
        let position = meta["position"].as_str().expect("position (the _lsn)");
        assert_eq!(
            meta["key"],
            format!("{symbol}:{position}"),
            "dedupe key = id:_lsn"
        );
        assert!(
            keys.insert(meta["key"].to_string()),
            "a key arrived twice: {meta}"
        );
        symbols.insert(symbol.to_owned());
    }
    let metrics = server.admin_get("/metrics").1;
    assert_eq!(
        herald_tests::metrics::sample(&metrics, "herald_feed_leases"),
        Some(4.0),
        "the node reads the 4 feed ranges"
    );
    server.assert_no_panic();
}

#[test]
fn documents_written_with_herald_write_reach_clients() {
    let config = HeraldConfig::new()
        .demo()
        .anonymous()
        .env("HERALD_DEMO_WRITER", "false");
    let server = config.start();
    let mut client = subscribe(&server);
    let output = Command::new(herald_binary())
        .args(["write", "--url", &server.base_url()])
        .arg(r#"{"id":"HRLD","symbol":"HRLD","price":12.5,"change":0.5,"note":"not projected"}"#)
        .env_clear()
        .output()
        .expect("run herald write");
    assert!(
        output.status.success(),
        "herald write failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&output.stdout).trim(),
        r#"{"id":"HRLD"}"#
    );
    let message = next_of(&mut client, "HRLD", Duration::from_secs(10)).expect("HRLD arrives");
    assert_eq!(
        message["arguments"][0],
        serde_json::json!({"symbol": "HRLD", "price": 12.5, "change": 0.5})
    );

    // Bad documents are refused with a reason, and the write command says so.
    let output = Command::new(herald_binary())
        .args(["write", "--url", &server.base_url(), r#"{"symbol":"X"}"#])
        .env_clear()
        .output()
        .expect("run herald write");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("400") && stderr.contains("non-empty string"),
        "{stderr}"
    );
    server.assert_no_panic();
}

#[test]
fn the_write_endpoint_is_authorized_like_the_rest_api() {
    let server = HeraldConfig::new()
        .demo()
        .env("HERALD_DEMO_WRITER", "false")
        .start();
    let rest = server.rest();
    let body = br#"{"id":"AUTH","symbol":"AUTH","price":1}"#;
    let refused = rest.request("POST", WRITE_PATH, Some(body), &Auth::None);
    assert_eq!(refused.status, 401, "{}", refused.body);
    let accepted = rest.request("POST", WRITE_PATH, Some(body), &Auth::Valid);
    assert_eq!(accepted.status, 200, "{}", accepted.body);
    let missing = rest.request(
        "POST",
        "/api/embedded/dbs/demo/colls/nope/docs",
        Some(body),
        &Auth::Valid,
    );
    assert_eq!(missing.status, 404, "{}", missing.body);
    assert!(missing.body.contains("does not exist"), "{}", missing.body);
    let bad = rest.request("POST", WRITE_PATH, Some(b"[1,2]"), &Auth::Valid);
    assert_eq!(bad.status, 400, "{}", bad.body);
}

#[test]
fn the_demo_can_be_turned_off() {
    let server = HeraldConfig::new()
        .anonymous()
        .env("HERALD_DEMO_ENABLED", "false")
        .start();
    let rest = server.rest();
    let reply = rest.request("POST", WRITE_PATH, Some(br#"{"id":"A"}"#), &Auth::None);
    assert_eq!(reply.status, 404, "no embedded account: {}", reply.body);
    let metrics = server.admin_get("/metrics").1;
    assert_eq!(
        herald_tests::metrics::sample(&metrics, "herald_feed_leases"),
        None
    );
    assert!(!server.log().contains("demo writer started"));
}
