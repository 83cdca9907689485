//! The official JavaScript client over Server-Sent Events and long polling.

use herald_tests::{HeraldConfig, JsClient, JsOptions, Protocol, Transport, unique};
use serde_json::json;

fn receives_broadcast_and_user_sends(transport: Transport, protocol: Protocol) {
    let server = HeraldConfig::new().start();
    let hub = unique("transports");
    let user = unique("user");
    let options = JsOptions::new(
        &server.client_url(&hub),
        server.client_token(&hub, &user),
        &["msg"],
    )
    .transport(transport)
    .protocol(protocol);
    let mut client = JsClient::connect(&options);
    let rest = server.rest();
    let broadcast = json!(["über ✓", 7, {"a": [null, 1.5]}]);
    rest.broadcast(&hub, "msg", &broadcast).assert_status(202);
    client.expect_message("msg", &broadcast);
    let to_user = json!(["to the user"]);
    rest.send_to_user(&hub, &user, "msg", &to_user)
        .assert_status(202);
    client.expect_message("msg", &to_user);
    let to_connection = json!(["to the connection"]);
    rest.send_to_connection(&hub, client.connection_id(), "msg", &to_connection)
        .assert_status(202);
    client.expect_message("msg", &to_connection);
    client.stop();
    server.assert_no_panic();
}

#[test]
fn server_sent_events_with_json() {
    receives_broadcast_and_user_sends(Transport::ServerSentEvents, Protocol::Json);
}

#[test]
fn long_polling_with_json() {
    receives_broadcast_and_user_sends(Transport::LongPolling, Protocol::Json);
}

#[test]
fn long_polling_with_messagepack() {
    receives_broadcast_and_user_sends(Transport::LongPolling, Protocol::MessagePack);
}
