//! REST API statuses and error bodies, `HEAD` existence checks and closing connections.

use herald_tests::js_client::CONNECT_TIMEOUT;
use herald_tests::rest::message_body;
use herald_tests::wait::deadline_in;
use herald_tests::{Auth, HeraldConfig, JsClient, JsOptions, unique, wait_until};
use serde_json::json;

#[test]
fn malformed_requests_are_400_with_json_errors() {
    let server = HeraldConfig::new().start();
    let rest = server.rest();
    let hub = unique("rest");
    let path = format!("/api/v1/hubs/{hub}");
    rest.request("POST", &path, Some(b"this is not json"), &Auth::Valid)
        .assert_error(400);
    rest.request(
        "POST",
        &path,
        Some(b"{\"target\":\"msg\",\"arguments\":"),
        &Auth::Valid,
    )
    .assert_error(400);
    rest.request("POST", &path, Some(b"{\"arguments\":[1]}"), &Auth::Valid)
        .assert_error(400);
    rest.request(
        "POST",
        &path,
        Some(b"{\"target\":\"msg\",\"arguments\":7}"),
        &Auth::Valid,
    )
    .assert_error(400);
    // Hub names start with a letter and contain only letters, digits and `_`.
    for bad_hub in ["chat-room", "9lives"] {
        rest.broadcast(bad_hub, "msg", &json!([1]))
            .assert_error(400);
        rest.post_message(
            &format!("/api/hubs/{bad_hub}/:send?api-version=2022-06-01"),
            "msg",
            &json!([1]),
        )
        .assert_error(400);
    }
    server.assert_no_panic();
}

#[test]
fn bodies_over_one_mebibyte_are_413() {
    let server = HeraldConfig::new().start();
    let rest = server.rest();
    let hub = unique("rest");
    let filler = "a".repeat(1024 * 1024 + 100 * 1024);
    let body = message_body("msg", &json!([filler]));
    assert_eq!(
        body.len(),
        filler.len() + r#"{"arguments":[""],"target":"msg"}"#.len()
    );
    rest.request(
        "POST",
        &format!("/api/v1/hubs/{hub}"),
        Some(&body),
        &Auth::Valid,
    )
    .assert_error(413);
    // A body just under the limit is accepted.
    let fits = message_body("msg", &json!(["a".repeat(1024 * 1024 - 100)]));
    rest.request(
        "POST",
        &format!("/api/v1/hubs/{hub}"),
        Some(&fits),
        &Auth::Valid,
    )
    .assert_status(202);
    server.assert_no_panic();
}

/// A connection id of this node's shape that no client holds.
const MISSING: &str = "AAAAAAAAAAAAAAAAAAAAAA.n1";

#[test]
fn group_membership_and_head_of_unknown_connections_are_404() {
    let server = HeraldConfig::new().start();
    let rest = server.rest();
    let hub = unique("rest");
    let group = unique("group");
    rest.group_connection("PUT", &hub, &group, MISSING)
        .assert_error(404);
    rest.group_connection("DELETE", &hub, &group, MISSING)
        .assert_error(404);
    rest.head(&hub, &format!("/connections/{MISSING}"))
        .assert_status(404);
    server.assert_no_panic();
}

#[test]
fn closing_an_unknown_connection_is_404() {
    let server = HeraldConfig::new().start();
    let hub = unique("rest");
    server
        .rest()
        .request(
            "DELETE",
            &format!("/api/v1/hubs/{hub}/connections/{MISSING}?reason=bye"),
            None,
            &Auth::Valid,
        )
        .assert_error(404);
    server.assert_no_panic();
}

/// As Azure SignalR Service does, a send to a connection that does not exist is accepted: the
/// REST API does not promise delivery.
#[test]
fn sends_to_an_unknown_connection_are_accepted() {
    let server = HeraldConfig::new().start();
    let rest = server.rest();
    let hub = unique("rest");
    rest.send_to_connection(&hub, MISSING, "msg", &json!([1]))
        .assert_status(202);
    rest.post_message(
        &format!("/api/hubs/{hub}/connections/{MISSING}/:send?api-version=2022-06-01"),
        "msg",
        &json!([1]),
    )
    .assert_status(202);
    server.assert_no_panic();
}

#[test]
fn unknown_hubs_are_404_when_hubs_are_restricted() {
    let server = HeraldConfig::new().hubs(&["chat", "other"]).start();
    let rest = server.rest();
    rest.broadcast("elsewhere", "msg", &json!([1]))
        .assert_error(404);
    rest.send_to_user("elsewhere", "u1", "msg", &json!([1]))
        .assert_error(404);
    rest.post_message(
        "/api/hubs/elsewhere/:send?api-version=2022-06-01",
        "msg",
        &json!([1]),
    )
    .assert_error(404);
    rest.broadcast("chat", "msg", &json!([1]))
        .assert_status(202);
    rest.broadcast("other", "msg", &json!([1]))
        .assert_status(202);
    server.assert_no_panic();
}

#[test]
fn head_reports_connections_users_and_groups() {
    let server = HeraldConfig::new().start();
    let rest = server.rest();
    let hub = unique("head");
    let user = unique("user");
    let group = unique("group");
    let mut client = JsClient::connect(&JsOptions::new(
        &server.client_url(&hub),
        server.client_token(&hub, &user),
        &["msg"],
    ));
    let id = client.connection_id().to_owned();
    rest.head(&hub, &format!("/connections/{id}"))
        .assert_status(200);
    rest.head(&hub, &format!("/users/{user}"))
        .assert_status(200);
    rest.head(&hub, &format!("/users/{}", unique("nobody")))
        .assert_status(404);
    rest.head(&hub, &format!("/groups/{group}"))
        .assert_status(404);
    rest.group_connection("PUT", &hub, &group, &id)
        .assert_status(202);
    rest.head(&hub, &format!("/groups/{group}"))
        .assert_status(200);
    rest.group_connection("DELETE", &hub, &group, &id)
        .assert_status(202);
    rest.head(&hub, &format!("/groups/{group}"))
        .assert_status(404);
    // The connection exists in its own hub only.
    rest.head(&unique("otherhub"), &format!("/connections/{id}"))
        .assert_status(404);

    client.stop();
    let gone = wait_until(deadline_in(10), || {
        rest.head(&hub, &format!("/connections/{id}")).status == 404
    });
    assert!(
        gone,
        "connection {id} still exists 10s after the client stopped"
    );
    rest.head(&hub, &format!("/users/{user}"))
        .assert_status(404);
    server.assert_no_panic();
}

#[test]
fn user_group_membership_can_be_removed_and_takes_a_ttl() {
    let server = HeraldConfig::new().start();
    let rest = server.rest();
    let hub = unique("usergroups");
    let user = unique("user");
    let group = unique("group");
    let mut client = JsClient::connect(&JsOptions::new(
        &server.client_url(&hub),
        server.client_token(&hub, &user),
        &["msg", "marker"],
    ));
    rest.request(
        "PUT",
        &format!("/api/v1/hubs/{hub}/groups/{group}/users/{user}?ttl=600"),
        None,
        &Auth::Valid,
    )
    .assert_status(202);
    let first = json!(["while a member"]);
    rest.send_to_group(&hub, &group, "msg", &first)
        .assert_status(202);
    client.expect_message("msg", &first);
    rest.group_user("DELETE", &hub, &group, &user)
        .assert_status(202);
    rest.send_to_group(&hub, &group, "msg", &json!(["after removal"]))
        .assert_status(202);
    let marker = json!(["marker"]);
    rest.broadcast(&hub, "marker", &marker).assert_status(202);
    client.expect_message("marker", &marker);
    client.stop();
    server.assert_no_panic();
}

#[test]
fn delete_connection_closes_the_client_with_the_reason() {
    let server = HeraldConfig::new().start();
    let rest = server.rest();
    let hub = unique("close");
    let user = unique("user");
    let mut client = JsClient::connect(&JsOptions::new(
        &server.client_url(&hub),
        server.client_token(&hub, &user),
        &["msg"],
    ));
    let id = client.connection_id().to_owned();
    rest.request(
        "DELETE",
        &format!("/api/v1/hubs/{hub}/connections/{id}?reason=maintenance"),
        None,
        &Auth::Valid,
    )
    .assert_status(202);
    let closed = client.wait_for_event("closed", CONNECT_TIMEOUT);
    assert_eq!(
        closed,
        json!({"event": "closed", "error": "Server returned an error on close: maintenance"})
    );
    let gone = wait_until(deadline_in(10), || {
        rest.head(&hub, &format!("/connections/{id}")).status == 404
    });
    assert!(gone, "connection {id} still exists 10s after it was closed");
    server.assert_no_panic();
}

#[test]
fn user_group_membership_expires_after_its_ttl() {
    let server = HeraldConfig::new().start();
    let rest = server.rest();
    let hub = unique("ttl");
    let user = unique("user");
    let group = unique("group");
    let mut client = JsClient::connect(&JsOptions::new(
        &server.client_url(&hub),
        server.client_token(&hub, &user),
        &["msg", "marker"],
    ));
    rest.request(
        "PUT",
        &format!("/api/v1/hubs/{hub}/groups/{group}/users/{user}?ttl=3"),
        None,
        &Auth::Valid,
    )
    .assert_status(202);
    rest.head(&hub, &format!("/groups/{group}"))
        .assert_status(200);
    let expired = wait_until(deadline_in(10), || {
        rest.head(&hub, &format!("/groups/{group}")).status == 404
    });
    assert!(
        expired,
        "group {group} still has members 10 s into a 3 s ttl"
    );
    rest.send_to_group(&hub, &group, "msg", &json!(["after expiry"]))
        .assert_status(202);
    let marker = json!(["marker"]);
    rest.broadcast(&hub, "marker", &marker).assert_status(202);
    client.expect_message("marker", &marker);
    client.stop();
    server.assert_no_panic();
}
