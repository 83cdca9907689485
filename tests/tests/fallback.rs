//! `HERALD_CLIENT_TRANSPORTS` selects what negotiate offers; the official JS client, with no
//! transport forced, connects over the first offered one it supports, and requests of a
//! disabled transport are refused with 400 and a JSON error.

use herald_tests::negotiate::{connection_token, negotiate};
use herald_tests::raw_ws::RawWs;
use herald_tests::wait::deadline_in;
use herald_tests::{
    Auth, HeraldConfig, HeraldProcess, JsClient, JsOptions, PendingReply, Rest, unique,
};
use serde_json::json;

fn server_with_transports(transports: &str) -> HeraldProcess {
    HeraldConfig::new()
        .env("HERALD_CLIENT_TRANSPORTS", transports)
        .start()
}

/// Connects a JS client without a forced transport, checks the transport it reports and that
/// it receives a broadcast.
fn default_client_uses(server: &HeraldProcess, expected_class: &str) {
    let hub = unique("fallback");
    let user = unique("user");
    let options = JsOptions::new(
        &server.client_url(&hub),
        server.client_token(&hub, &user),
        &["msg"],
    )
    .any_transport();
    let mut client = JsClient::connect(&options);
    assert_eq!(client.transport_class(), Some(expected_class));
    let arguments = json!(["over the fallback", 1]);
    server
        .rest()
        .broadcast(&hub, "msg", &arguments)
        .assert_status(202);
    client.expect_message("msg", &arguments);
    client.stop();
    server.assert_no_panic();
}

#[test]
fn negotiate_offers_only_the_configured_transports() {
    let server = server_with_transports("ServerSentEvents,LongPolling");
    let hub = unique("fallback");
    let token = server.client_token(&hub, "u").expect("token");
    let reply = negotiate(&server, &hub, "", &Auth::Bearer(token));
    reply.assert_status(200);
    assert_eq!(
        reply.json()["availableTransports"],
        json!([
            {"transport": "ServerSentEvents", "transferFormats": ["Text"]},
            {"transport": "LongPolling", "transferFormats": ["Text", "Binary"]},
        ])
    );
}

#[test]
fn js_client_falls_back_to_server_sent_events() {
    let server = server_with_transports("ServerSentEvents,LongPolling");
    default_client_uses(&server, "ServerSentEventsTransport");
}

#[test]
fn js_client_falls_back_to_long_polling() {
    let server = server_with_transports("LongPolling");
    default_client_uses(&server, "LongPollingTransport");
}

#[test]
fn js_client_picks_websockets_when_offered() {
    let server = HeraldConfig::new().start();
    default_client_uses(&server, "WebSocketTransport");
}

#[test]
fn skip_negotiation_websockets_works_when_websockets_is_enabled() {
    let server = server_with_transports("WebSockets,LongPolling");
    let hub = unique("fallback");
    let user = unique("user");
    let options = JsOptions::new(
        &server.client_url(&hub),
        server.client_token(&hub, &user),
        &["msg"],
    )
    .skip_negotiation();
    let mut client = JsClient::connect(&options);
    assert_eq!(client.transport_class(), Some("WebSocketTransport"));
    let arguments = json!(["skipped negotiation"]);
    server
        .rest()
        .broadcast(&hub, "msg", &arguments)
        .assert_status(202);
    client.expect_message("msg", &arguments);
    client.stop();
    server.assert_no_panic();
}

#[test]
fn disabled_transports_are_refused_with_400() {
    let server = server_with_transports("LongPolling");
    let hub = unique("fallback");
    let token = server.client_token(&hub, "u").expect("token");
    let auth = Auth::Bearer(token.clone());
    let id = connection_token(&negotiate(&server, &hub, "", &auth));

    // A WebSocket upgrade, negotiated or not.
    for query in [format!("&id={id}"), String::new()] {
        let url = format!("{}/client/?hub={hub}{query}", server.ws_base_url());
        let refused = RawWs::connect(&url, Some(&token))
            .err()
            .expect("the upgrade is refused");
        assert_eq!(refused.status, Some(400), "{}", refused.message);
    }

    // Server-Sent Events.
    let rest = Rest::new(&server.base_url(), None);
    let url = rest.url(&format!("/client/?hub={hub}&id={id}"));
    let reply = PendingReply::spawn(
        "GET",
        &url,
        None,
        &[
            ("Accept", "text/event-stream"),
            ("Authorization", &format!("Bearer {token}")),
        ],
    )
    .wait(deadline_in(10))
    .expect("the event stream request is answered");
    reply.assert_error(400);

    // The connection itself is still usable over long polling: its first poll answers 200.
    let first = rest.request("GET", &format!("/client/?hub={hub}&id={id}"), None, &auth);
    first.assert_status(200);
    assert_eq!(first.body, "");
    server.assert_no_panic();
}
