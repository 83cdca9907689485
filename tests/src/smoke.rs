//! Proving that a server still serves clients: a fresh JavaScript client connects and
//! receives a broadcast.

use crate::js_client::{JsClient, JsOptions};
use crate::names::unique;
use crate::process::HeraldProcess;
use serde_json::json;

/// Connects a fresh JS client to a new hub (or `hub`), broadcasts to it through REST and
/// asserts it receives exactly that message.
pub fn assert_serves_clients(server: &HeraldProcess, hub: Option<&str>) {
    let fresh_hub = unique("smoke");
    let hub = hub.unwrap_or(&fresh_hub);
    let user = unique("smoke_user");
    let options = JsOptions::new(
        &server.client_url(hub),
        server.client_token(hub, &user),
        &["smoke"],
    );
    let mut client = JsClient::connect(&options);
    let arguments = json!(["still alive", 1]);
    server
        .rest()
        .broadcast(hub, "smoke", &arguments)
        .assert_status(202);
    client.expect_message("smoke", &arguments);
    client.stop();
}
