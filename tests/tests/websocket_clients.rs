//! The official JavaScript client over WebSockets, with JSON and MessagePack and with both URL
//! styles, receives what every REST route sends, with arguments that round-trip exactly.

use herald_tests::{HeraldConfig, HeraldProcess, JsClient, JsOptions, Protocol, Rest, unique};
use serde_json::{Value, json};

/// Where the client connects.
#[derive(Clone, Copy)]
enum UrlStyle {
    /// `/client/?hub=<hub>` (Azure SignalR Service).
    Client,
    /// `/hubs/<hub>` (self-hosted ASP.NET Core).
    Hubs,
}

fn hub_url(server: &HeraldProcess, style: UrlStyle, hub: &str) -> String {
    match style {
        UrlStyle::Client => server.client_url(hub),
        UrlStyle::Hubs => server.hubs_url(hub),
    }
}

/// Argument values chosen to catch conversion mistakes between JSON and MessagePack.
fn rich_arguments() -> Value {
    json!([
        "héllo wörld ✓ 🚀 \"quoted\" \\ 漢字 \n tab\t",
        42,
        -7.5,
        0,
        true,
        false,
        null,
        {"nested": {"list": [1, "two", null, {"deep": true}], "empty": {}}, "n": 1.25},
        [],
        [1, [2, [3]]],
        ""
    ])
}

/// Broadcasts `marker(n)`: a message every client receives, sent after a message some
/// clients must not receive, so its arrival proves the earlier one was not delivered.
fn marker(rest: &Rest, hub: &str, n: u32) -> Value {
    let arguments = json!([n]);
    rest.broadcast(hub, "marker", &arguments).assert_status(202);
    arguments
}

fn connect(
    server: &HeraldProcess,
    style: UrlStyle,
    protocol: Protocol,
    hub: &str,
    user: &str,
) -> JsClient {
    let options = JsOptions::new(
        &hub_url(server, style, hub),
        server.client_token(hub, user),
        &["msg", "marker"],
    )
    .protocol(protocol);
    JsClient::connect(&options)
}

fn every_rest_route(style: UrlStyle, protocol: Protocol) {
    let server = HeraldConfig::new().start();
    let rest = server.rest();
    let hub = unique("hub");
    let (user_a, user_b, user_c) = (unique("alice"), unique("bob"), unique("carol"));
    let mut a = connect(&server, style, protocol, &hub, &user_a);
    let mut b = connect(&server, style, protocol, &hub, &user_b);
    let (id_a, id_b) = (a.connection_id().to_owned(), b.connection_id().to_owned());

    // Broadcast: everyone, arguments exactly as sent.
    let rich = rich_arguments();
    rest.broadcast(&hub, "msg", &rich).assert_status(202);
    a.expect_message("msg", &rich);
    b.expect_message("msg", &rich);

    // Broadcast with one excluded connection.
    let not_for_a = json!(["not for a"]);
    rest.post_message(
        &format!("/api/v1/hubs/{hub}?excluded={id_a}"),
        "msg",
        &not_for_a,
    )
    .assert_status(202);
    let m = marker(&rest, &hub, 1);
    a.expect_message("marker", &m);
    b.expect_message("msg", &not_for_a);
    b.expect_message("marker", &m);

    // Broadcast with both connections excluded (the parameter repeats).
    rest.post_message(
        &format!("/api/v1/hubs/{hub}?excluded={id_a}&excluded={id_b}"),
        "msg",
        &json!(["for nobody"]),
    )
    .assert_status(202);
    let m = marker(&rest, &hub, 2);
    a.expect_message("marker", &m);
    b.expect_message("marker", &m);

    // User.
    let for_a = json!(["for user a", {"k": "v"}]);
    rest.send_to_user(&hub, &user_a, "msg", &for_a)
        .assert_status(202);
    let m = marker(&rest, &hub, 3);
    a.expect_message("msg", &for_a);
    a.expect_message("marker", &m);
    b.expect_message("marker", &m);

    // Connection.
    let for_b = json!(["for connection b", [1, 2, 3]]);
    rest.send_to_connection(&hub, &id_b, "msg", &for_b)
        .assert_status(202);
    let m = marker(&rest, &hub, 4);
    a.expect_message("marker", &m);
    b.expect_message("msg", &for_b);
    b.expect_message("marker", &m);

    // Group: after adding a, a receives; after removing it, no more.
    let group = unique("group");
    rest.group_connection("PUT", &hub, &group, &id_a)
        .assert_status(202);
    let to_group = json!(["to group", null]);
    rest.send_to_group(&hub, &group, "msg", &to_group)
        .assert_status(202);
    let m = marker(&rest, &hub, 5);
    a.expect_message("msg", &to_group);
    a.expect_message("marker", &m);
    b.expect_message("marker", &m);
    rest.group_connection("DELETE", &hub, &group, &id_a)
        .assert_status(202);
    rest.send_to_group(&hub, &group, "msg", &json!(["after removal"]))
        .assert_status(202);
    let m = marker(&rest, &hub, 6);
    a.expect_message("marker", &m);
    b.expect_message("marker", &m);

    // Group send with an excluded connection.
    let both = unique("both");
    rest.group_connection("PUT", &hub, &both, &id_a)
        .assert_status(202);
    rest.group_connection("PUT", &hub, &both, &id_b)
        .assert_status(202);
    let group_not_a = json!(["group, not a"]);
    rest.post_message(
        &format!("/api/v1/hubs/{hub}/groups/{both}?excluded={id_a}"),
        "msg",
        &group_not_a,
    )
    .assert_status(202);
    let m = marker(&rest, &hub, 7);
    a.expect_message("marker", &m);
    b.expect_message("msg", &group_not_a);
    b.expect_message("marker", &m);

    // The 2022-06-01 `:send` forms.
    let v = "api-version=2022-06-01";
    let hub_send = json!(["2022 hub"]);
    rest.post_message(&format!("/api/hubs/{hub}/:send?{v}"), "msg", &hub_send)
        .assert_status(202);
    a.expect_message("msg", &hub_send);
    b.expect_message("msg", &hub_send);
    let user_send = json!(["2022 user"]);
    rest.post_message(
        &format!("/api/hubs/{hub}/users/{user_a}/:send?{v}"),
        "msg",
        &user_send,
    )
    .assert_status(202);
    let group_send = json!(["2022 group"]);
    rest.post_message(
        &format!("/api/hubs/{hub}/groups/{both}/:send?{v}"),
        "msg",
        &group_send,
    )
    .assert_status(202);
    let connection_send = json!(["2022 connection"]);
    rest.post_message(
        &format!("/api/hubs/{hub}/connections/{id_b}/:send?{v}"),
        "msg",
        &connection_send,
    )
    .assert_status(202);
    let m = marker(&rest, &hub, 8);
    a.expect_message("msg", &user_send);
    a.expect_message("msg", &group_send);
    a.expect_message("marker", &m);
    b.expect_message("msg", &group_send);
    b.expect_message("msg", &connection_send);
    b.expect_message("marker", &m);

    // A user added to a group before connecting receives the group's messages.
    let user_group = unique("usergroup");
    rest.group_user("PUT", &hub, &user_group, &user_c)
        .assert_status(202);
    let mut c = connect(&server, style, protocol, &hub, &user_c);
    let to_user_group = json!(["to the user's group"]);
    rest.send_to_group(&hub, &user_group, "msg", &to_user_group)
        .assert_status(202);
    c.expect_message("msg", &to_user_group);
    let m = marker(&rest, &hub, 9);
    a.expect_message("marker", &m);
    b.expect_message("marker", &m);

    for client in [&mut a, &mut b, &mut c] {
        client.stop();
    }
    server.assert_no_panic();
}

#[test]
fn client_url_json_receives_every_rest_route() {
    every_rest_route(UrlStyle::Client, Protocol::Json);
}

#[test]
fn client_url_messagepack_receives_every_rest_route() {
    every_rest_route(UrlStyle::Client, Protocol::MessagePack);
}

#[test]
fn hubs_url_json_receives_every_rest_route() {
    every_rest_route(UrlStyle::Hubs, Protocol::Json);
}

#[test]
fn hubs_url_messagepack_receives_every_rest_route() {
    every_rest_route(UrlStyle::Hubs, Protocol::MessagePack);
}

fn skip_negotiation(style: UrlStyle, protocol: Protocol) {
    let server = HeraldConfig::new().start();
    let hub = unique("skipneg");
    let user = unique("user");
    let options = JsOptions::new(
        &hub_url(&server, style, &hub),
        server.client_token(&hub, &user),
        &["msg"],
    )
    .protocol(protocol)
    .skip_negotiation();
    let mut client = JsClient::connect(&options);
    let arguments = rich_arguments();
    server
        .rest()
        .broadcast(&hub, "msg", &arguments)
        .assert_status(202);
    client.expect_message("msg", &arguments);
    let to_user = json!(["to the user"]);
    server
        .rest()
        .send_to_user(&hub, &user, "msg", &to_user)
        .assert_status(202);
    client.expect_message("msg", &to_user);
    client.stop();
    server.assert_no_panic();
}

#[test]
fn skip_negotiation_on_client_url_json() {
    skip_negotiation(UrlStyle::Client, Protocol::Json);
}

#[test]
fn skip_negotiation_on_hubs_url_messagepack() {
    skip_negotiation(UrlStyle::Hubs, Protocol::MessagePack);
}

#[test]
fn user_sends_reach_every_connection_of_the_user() {
    let server = HeraldConfig::new().start();
    let rest = server.rest();
    let hub = unique("multi");
    let user = unique("user");
    let mut json_client = connect(&server, UrlStyle::Client, Protocol::Json, &hub, &user);
    let mut msgpack_client = connect(&server, UrlStyle::Hubs, Protocol::MessagePack, &hub, &user);
    let to_user = json!([
        "to both connections",
        9007199254740991_i64,
        -9007199254740991_i64,
        1.5e300
    ]);
    rest.send_to_user(&hub, &user, "msg", &to_user)
        .assert_status(202);
    json_client.expect_message("msg", &to_user);
    msgpack_client.expect_message("msg", &to_user);
    // Removing the user from a group removes every connection of the user.
    let group = unique("group");
    rest.group_user("PUT", &hub, &group, &user)
        .assert_status(202);
    let to_group = json!(["group of the user"]);
    rest.send_to_group(&hub, &group, "msg", &to_group)
        .assert_status(202);
    json_client.expect_message("msg", &to_group);
    msgpack_client.expect_message("msg", &to_group);
    rest.group_user("DELETE", &hub, &group, &user)
        .assert_status(202);
    rest.send_to_group(&hub, &group, "msg", &json!(["after removal"]))
        .assert_status(202);
    let m = marker(&rest, &hub, 1);
    json_client.expect_message("marker", &m);
    msgpack_client.expect_message("marker", &m);
    json_client.stop();
    msgpack_client.stop();
    server.assert_no_panic();
}

#[test]
fn large_messages_are_delivered_whole() {
    let server = HeraldConfig::new().start();
    let rest = server.rest();
    let hub = unique("large");
    let mut json_client = connect(
        &server,
        UrlStyle::Client,
        Protocol::Json,
        &hub,
        &unique("u"),
    );
    let mut msgpack_client = connect(
        &server,
        UrlStyle::Client,
        Protocol::MessagePack,
        &hub,
        &unique("u"),
    );
    // Far larger than the client-to-server limit (32 KiB), which does not apply to sends.
    let large = json!(["é".repeat(200_000), (0..10_000).collect::<Vec<u32>>()]);
    rest.broadcast(&hub, "msg", &large).assert_status(202);
    json_client.expect_message("msg", &large);
    msgpack_client.expect_message("msg", &large);
    json_client.stop();
    msgpack_client.stop();
    server.assert_no_panic();
}
