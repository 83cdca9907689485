use herald_proto::ids::HubName;
use serde_json::{Value, json};
use url::Url;

use super::{Target, check, expected};
use crate::auth::AuthError;

fn url(s: &str) -> Url {
    Url::parse(s).unwrap()
}

fn hub(s: &str) -> HubName {
    s.parse().unwrap()
}

fn aud(value: Value) -> super::Claims {
    let mut claims = serde_json::Map::new();
    claims.insert("aud".to_owned(), value);
    claims
}

fn rest_ok(base: &str, aud_value: &str, path: &str) -> bool {
    check(&aud(json!(aud_value)), &[&url(base)], Target::Rest(path)).is_ok()
}

fn client_ok(base: &str, aud_value: &str, hub_name: &str) -> bool {
    check(
        &aud(json!(aud_value)),
        &[&url(base)],
        Target::Client(&hub(hub_name)),
    )
    .is_ok()
}

#[test]
fn rest_audiences() {
    let base = "https://x.service.signalr.net";
    let path = "/api/v1/hubs/chat/users/u1";
    assert!(rest_ok(
        base,
        "https://x.service.signalr.net/api/v1/hubs/chat/users/u1",
        path
    ));
    assert!(rest_ok(
        base,
        "HTTPS://X.Service.SignalR.net/api/v1/hubs/chat/users/u1/",
        path
    ));
    assert!(rest_ok(
        base,
        "https://x.service.signalr.net:443/api/v1/hubs/chat/users/u1",
        path
    ));
    // Management SDK: query left on the audience.
    assert!(rest_ok(
        base,
        "https://x.service.signalr.net/api/v1/hubs/chat/users/u1?api-version=2022-06-01",
        path
    ));
    // Escapes are compared decoded.
    assert!(rest_ok(
        base,
        "https://x.service.signalr.net/api/v1/hubs/chat/users/a%20b",
        "/api/v1/hubs/chat/users/a b"
    ));
    assert!(rest_ok(
        base,
        "https://x.service.signalr.net/api/v1/hubs/chat/users/a%40b",
        "/api/v1/hubs/chat/users/a@b"
    ));
    assert!(rest_ok(
        base,
        "https://x.service.signalr.net/api/v1/hubs/chat",
        "/api/v1/hubs/chat/?x=1"
    ));
    assert!(!rest_ok(
        base,
        "https://x.service.signalr.net/api/v1/hubs/CHAT/users/u1",
        path
    ));
    assert!(!rest_ok(
        base,
        "https://x.service.signalr.net/api/v1/hubs/chat",
        path
    ));
    assert!(!rest_ok(
        base,
        "https://evil.example/api/v1/hubs/chat/users/u1",
        path
    ));
    assert!(!rest_ok(
        base,
        "http://x.service.signalr.net/api/v1/hubs/chat/users/u1",
        path
    ));
    assert!(!rest_ok(base, "not a url", path));
}

#[test]
fn ports_may_be_omitted_but_not_changed() {
    let base = "http://localhost:8080";
    let path = "/api/v1/hubs/chat";
    assert!(rest_ok(
        base,
        "http://localhost:8080/api/v1/hubs/chat",
        path
    ));
    assert!(rest_ok(base, "http://localhost/api/v1/hubs/chat", path));
    assert!(!rest_ok(
        base,
        "http://localhost:9090/api/v1/hubs/chat",
        path
    ));
}

#[test]
fn a_path_prefix_may_be_kept_or_dropped() {
    let base = "https://example.com/herald/";
    assert!(rest_ok(
        base,
        "https://example.com/herald/api/v1/hubs/chat",
        "/api/v1/hubs/chat"
    ));
    assert!(rest_ok(
        base,
        "https://example.com/api/v1/hubs/chat",
        "/api/v1/hubs/chat"
    ));
    assert!(!rest_ok(
        base,
        "https://example.com/other/api/v1/hubs/chat",
        "/api/v1/hubs/chat"
    ));
    assert!(client_ok(
        base,
        "https://example.com/herald/client/?hub=chat",
        "chat"
    ));
}

#[test]
fn client_audiences() {
    let base = "https://x.service.signalr.net";
    assert!(client_ok(
        base,
        "https://x.service.signalr.net/client/?hub=Chat",
        "Chat"
    ));
    assert!(client_ok(
        base,
        "https://x.service.signalr.net/client/?hub=chat",
        "Chat"
    ));
    assert!(client_ok(
        base,
        "https://x.service.signalr.net/client?hub=chat",
        "chat"
    ));
    assert!(client_ok(
        base,
        "https://x.service.signalr.net/client/?asrs.op=%2Fchat&HUB=chat",
        "chat"
    ));
    assert!(client_ok(
        base,
        "https://x.service.signalr.net/hubs/chat",
        "chat"
    ));
    assert!(client_ok(
        base,
        "https://x.service.signalr.net/hubs/Chat/",
        "chat"
    ));
    assert!(!client_ok(
        base,
        "https://x.service.signalr.net/client/?hub=news",
        "chat"
    ));
    assert!(!client_ok(
        base,
        "https://x.service.signalr.net/client/",
        "chat"
    ));
    assert!(!client_ok(
        base,
        "https://x.service.signalr.net/hubs/chatty",
        "chat"
    ));
    assert!(!client_ok(
        base,
        "https://x.service.signalr.net/api/v1/hubs/chat",
        "chat"
    ));
    assert!(!client_ok(
        base,
        "https://y.service.signalr.net/client/?hub=chat",
        "chat"
    ));
}

#[test]
fn any_audience_of_a_list_and_any_base_may_match() {
    let a = url("https://a.example");
    let b = url("https://b.example");
    let claims = aud(json!([
        "https://z.example/client/?hub=chat",
        "https://b.example/client/?hub=chat"
    ]));
    assert!(check(&claims, &[&a, &b], Target::Client(&hub("chat"))).is_ok());
    assert!(check(&claims, &[&a], Target::Client(&hub("chat"))).is_err());
}

#[test]
fn errors_name_expected_and_found() {
    let base = url("http://b/");
    let err = check(&aud(json!("http://a/x")), &[&base], Target::Rest("/x")).unwrap_err();
    assert_eq!(
        err.to_string(),
        "the token's audience \"http://a/x\" does not match \"http://b/x\": mint it for this Herald endpoint"
    );
    let err = check(&serde_json::Map::new(), &[&base], Target::Rest("/x")).unwrap_err();
    assert_eq!(err, AuthError::MissingClaim("aud".to_owned()));
    let err = check(&aud(json!(5)), &[&base], Target::Rest("/x")).unwrap_err();
    assert!(matches!(err, AuthError::Malformed(_)));
}

#[test]
fn expected_forms() {
    let base = url("https://x.service.signalr.net/");
    assert_eq!(
        expected(&base, Target::Rest("/api/v1/hubs/chat/")),
        "https://x.service.signalr.net/api/v1/hubs/chat"
    );
    assert_eq!(
        expected(&base, Target::Rest("api/v1/hubs/chat?x=1")),
        "https://x.service.signalr.net/api/v1/hubs/chat"
    );
    assert_eq!(
        expected(&base, Target::Client(&hub("chat"))),
        "https://x.service.signalr.net/client/?hub=chat"
    );
}
