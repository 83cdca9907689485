//! The Python `signalrcore` client connects over WebSockets with JSON and receives sends.
//!
//! signalrcore negotiates without `negotiateVersion` (a version 0 negotiation) and requires the
//! response to carry `"negotiateVersion": 0`, as ASP.NET Core always writes it. The
//! skip-negotiation case opens the WebSocket directly.

use herald_tests::{HeraldConfig, PyClient, unique};
use serde_json::json;

#[test]
fn signalrcore_receives_a_broadcast_and_a_user_send() {
    let server = HeraldConfig::new().start();
    let hub = unique("python");
    let user = unique("user");
    let token = server.client_token(&hub, &user);
    let mut client = PyClient::connect(&server.client_url(&hub), token.as_deref(), &["msg"], false);
    let rest = server.rest();
    let broadcast = json!(["from REST ✓", 3, {"nested": [true, null]}]);
    rest.broadcast(&hub, "msg", &broadcast).assert_status(202);
    client.expect_message("msg", &broadcast);
    let to_user = json!(["to the python user"]);
    rest.send_to_user(&hub, &user, "msg", &to_user)
        .assert_status(202);
    client.expect_message("msg", &to_user);
    server.assert_no_panic();
}

#[test]
fn signalrcore_on_the_hubs_url() {
    let server = HeraldConfig::new().start();
    let hub = unique("python");
    let user = unique("user");
    let token = server.client_token(&hub, &user);
    let mut client = PyClient::connect(&server.hubs_url(&hub), token.as_deref(), &["msg"], false);
    let broadcast = json!(["hubs url"]);
    server
        .rest()
        .broadcast(&hub, "msg", &broadcast)
        .assert_status(202);
    client.expect_message("msg", &broadcast);
    server.assert_no_panic();
}

#[test]
fn signalrcore_without_negotiation_receives_a_broadcast() {
    let server = HeraldConfig::new().start();
    let hub = unique("python");
    let user = unique("user");
    let token = server.client_token(&hub, &user);
    let url = format!("{}/client/?hub={hub}", server.ws_base_url());
    let mut client = PyClient::connect(&url, token.as_deref(), &["msg"], true);
    let broadcast = json!(["no negotiation", {"k": [1, 2]}]);
    server
        .rest()
        .broadcast(&hub, "msg", &broadcast)
        .assert_status(202);
    client.expect_message("msg", &broadcast);
    server.assert_no_panic();
}
