//! Client and REST authentication: HS256 tokens signed with the AccessKey, checked for
//! signature, expiry and audience; anonymous mode; `herald token`.

use herald_tests::binary::herald_binary;
use herald_tests::frames::{handshake_request, json_records, split_handshake};
use herald_tests::js_client::CONNECT_TIMEOUT;
use herald_tests::negotiate::negotiate;
use herald_tests::raw_ws::payload_bytes;
use herald_tests::token::{VALID_FOR_SECONDS, claims, client_audience, client_token, sign};
use herald_tests::wait::deadline_in;
use herald_tests::{Auth, HeraldConfig, HeraldProcess, JsClient, JsOptions, RawWs, unique};
use serde_json::json;
use std::process::Command;

/// Tokens for `hub` that must all be refused: expired, signed with another key, for another
/// hub's audience and for another server's audience.
fn bad_client_tokens(server: &HeraldProcess, hub: &str) -> Vec<(&'static str, String)> {
    let key = server.access_key().expect("keyed server");
    let audience = client_audience(&server.base_url(), hub);
    vec![
        ("expired", sign(key, &claims(&audience, Some("u1"), -600))),
        (
            "forged",
            client_token(
                "some-other-access-key-0123456789",
                &server.base_url(),
                hub,
                Some("u1"),
            ),
        ),
        (
            "other hub",
            sign(
                key,
                &claims(
                    &client_audience(&server.base_url(), "otherhub"),
                    Some("u1"),
                    VALID_FOR_SECONDS,
                ),
            ),
        ),
        (
            "other server",
            sign(
                key,
                &claims(
                    &client_audience("http://127.0.0.1:1", hub),
                    Some("u1"),
                    VALID_FOR_SECONDS,
                ),
            ),
        ),
        ("garbage", "not.a.jwt".to_owned()),
    ]
}

#[test]
fn negotiate_requires_a_valid_client_token() {
    let server = HeraldConfig::new().start();
    let hub = unique("auth");
    assert_eq!(negotiate(&server, &hub, "", &Auth::None).status, 401);
    for (what, token) in bad_client_tokens(&server, &hub) {
        let reply = negotiate(&server, &hub, "", &Auth::Bearer(token.clone()));
        assert_eq!(
            reply.status, 401,
            "negotiate with the {what} token: {}",
            reply.body
        );
        let reply = negotiate(
            &server,
            &hub,
            &format!("&access_token={token}"),
            &Auth::None,
        );
        assert_eq!(
            reply.status, 401,
            "negotiate with the {what} token in the query: {}",
            reply.body
        );
    }
    let token = server.client_token(&hub, "u1").expect("keyed server");
    let reply = negotiate(&server, &hub, "", &Auth::Bearer(token.clone()));
    assert_eq!(
        reply.status, 200,
        "negotiate with a valid token: {}",
        reply.body
    );
    let reply = negotiate(
        &server,
        &hub,
        &format!("&access_token={token}"),
        &Auth::None,
    );
    assert_eq!(
        reply.status, 200,
        "negotiate with a valid token in the query: {}",
        reply.body
    );
    assert_eq!(reply.json()["negotiateVersion"], json!(1));
    server.assert_no_panic();
}

#[test]
fn websocket_accepts_the_token_in_the_query_and_refuses_none() {
    let server = HeraldConfig::new().start();
    let hub = unique("auth");
    let url = format!("{}/client/?hub={hub}", server.ws_base_url());
    let refused = RawWs::connect(&url, None)
        .err()
        .expect("upgrade without a token refused");
    assert_eq!(refused.status, Some(401), "{}", refused.message);
    for (what, token) in bad_client_tokens(&server, &hub) {
        let refused = RawWs::connect(&format!("{url}&access_token={token}"), None)
            .err()
            .unwrap_or_else(|| panic!("upgrade with the {what} token refused"));
        assert_eq!(refused.status, Some(401), "{what}: {}", refused.message);
    }
    let token = server.client_token(&hub, "u1").expect("keyed server");
    let mut ws = RawWs::connect(&format!("{url}&access_token={token}"), None)
        .unwrap_or_else(|e| panic!("upgrade with the token in the query: {}", e.message));
    ws.send_text(&handshake_request("json"));
    let frame = ws.next_frame(deadline_in(10)).expect("handshake response");
    let bytes = payload_bytes(&[frame]);
    let (handshake, rest) = split_handshake(&bytes);
    assert_eq!(handshake, json!({}));
    assert_eq!(json_records(rest), Vec::<serde_json::Value>::new());
    server.assert_no_panic();
}

#[test]
fn js_client_with_a_bad_token_fails_to_start() {
    let server = HeraldConfig::new().start();
    let hub = unique("auth");
    for (what, token) in bad_client_tokens(&server, &hub) {
        let mut client = JsClient::spawn(&JsOptions::new(
            &server.client_url(&hub),
            Some(token),
            &["msg"],
        ));
        let event = client.wait_for_event("error", CONNECT_TIMEOUT);
        let message = event["message"].as_str().unwrap_or_default();
        assert!(
            message.contains("Status code '401'"),
            "{what} token: {event}"
        );
    }
    server.assert_no_panic();
}

#[test]
fn rest_requires_a_valid_token() {
    let server = HeraldConfig::new().start();
    let rest = server.rest();
    let hub = unique("auth");
    let body = herald_tests::rest::message_body("msg", &json!([1]));
    let broadcast = format!("/api/v1/hubs/{hub}");
    for (what, auth) in bad_rest_tokens(&server, &hub, &rest.url(&broadcast)) {
        let reply = rest.request("POST", &broadcast, Some(&body), &auth);
        assert_eq!(
            reply.status, 401,
            "POST with the {what} token: {}",
            reply.body
        );
        reply.assert_error(401);
    }
    let head = format!("/api/v1/hubs/{hub}/users/u1");
    for (what, auth) in bad_rest_tokens(&server, &hub, &rest.url(&head)) {
        let reply = rest.request("HEAD", &head, None, &auth);
        assert_eq!(reply.status, 401, "HEAD with the {what} token");
    }
    rest.request("POST", &broadcast, Some(&body), &Auth::Valid)
        .assert_status(202);
    rest.request("HEAD", &head, None, &Auth::Valid)
        .assert_status(404);
    // The audience is the URL without its query string.
    let with_query = format!("{broadcast}?excluded=AAAA.n1");
    rest.request("POST", &with_query, Some(&body), &Auth::Valid)
        .assert_status(202);
    server.assert_no_panic();
}

/// REST authentications for `url` that must all be refused.
fn bad_rest_tokens(server: &HeraldProcess, hub: &str, url: &str) -> Vec<(&'static str, Auth)> {
    let key = server.access_key().expect("keyed server");
    let other_url = format!("{}/api/v1/hubs/{hub}/groups/g1", server.base_url());
    vec![
        ("none", Auth::None),
        ("expired", Auth::Bearer(sign(key, &claims(url, None, -600)))),
        (
            "forged",
            Auth::Bearer(sign(
                "some-other-access-key-0123456789",
                &claims(url, None, VALID_FOR_SECONDS),
            )),
        ),
        (
            "other path",
            Auth::Bearer(sign(key, &claims(&other_url, None, VALID_FOR_SECONDS))),
        ),
        (
            "client audience",
            Auth::Bearer(client_token(key, &server.base_url(), hub, Some("u1"))),
        ),
        ("garbage", Auth::Bearer("not.a.jwt".to_owned())),
    ]
}

#[test]
fn anonymous_mode_needs_no_tokens() {
    let server = HeraldConfig::new().anonymous().start();
    let hub = unique("anon");
    assert_eq!(server.client_token(&hub, "u1"), None);
    let mut client = JsClient::connect(&JsOptions::new(&server.client_url(&hub), None, &["msg"]));
    let rest = server.rest();
    let arguments = json!(["anonymous", 1]);
    rest.broadcast(&hub, "msg", &arguments).assert_status(202);
    client.expect_message("msg", &arguments);
    let to_connection = json!(["to the connection"]);
    rest.send_to_connection(&hub, client.connection_id(), "msg", &to_connection)
        .assert_status(202);
    client.expect_message("msg", &to_connection);
    client.stop();
    server.assert_no_panic();
}

#[test]
fn herald_token_command_mints_a_working_client_token() {
    let server = HeraldConfig::new().start();
    let hub = unique("minted");
    let user = unique("user");
    let output = Command::new(herald_binary())
        .args(["token", "--user", &user, "--hub", &hub])
        .env(
            "HERALD_CONNECTION_STRING",
            server.config().connection_string().expect("keyed server"),
        )
        .output()
        .expect("run herald token");
    assert!(
        output.status.success(),
        "herald token failed ({}): {}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    let token = String::from_utf8(output.stdout).expect("UTF-8 token");
    let token = token.trim();
    assert_eq!(token.split('.').count(), 3, "not a JWT: {token:?}");
    let mut client = JsClient::connect(&JsOptions::new(
        &server.client_url(&hub),
        Some(token.to_owned()),
        &["msg"],
    ));
    let arguments = json!(["for the minted user"]);
    server
        .rest()
        .send_to_user(&hub, &user, "msg", &arguments)
        .assert_status(202);
    client.expect_message("msg", &arguments);
    client.stop();
    server.assert_no_panic();
}
