//! End-to-end tests of [`Upstream`] against the in-process [`TestServer`].

use std::time::{Duration, Instant};

use herald_proto::hub_protocol::{Decoded, Headers, HubMessage, Outcome, Protocol, encode_msgpack};
use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha256;

use super::test_server::{Reply, TestServer};
use super::{ConnectionEvent, InvocationOutcome, Upstream, UpstreamContext, UpstreamError};
use crate::config::Config;

const KEY: &str = "s3cr3t-access-key";
const CONNECTION: &str = "Qm9vbXM.node-1";

fn upstream(template: &str, key: Option<&str>, events: &[ConnectionEvent]) -> Upstream {
    let mut config = Config::default();
    config.upstream.url_template = Some(template.parse().unwrap());
    config.upstream.timeout = Duration::from_millis(200);
    config.upstream.events = events.to_vec();
    config.connection_string = Some(
        match key {
            Some(key) => format!("Endpoint=http://localhost;AccessKey={key};Version=1.0;"),
            None => "Endpoint=http://localhost;Version=1.0;".to_owned(),
        }
        .parse()
        .unwrap(),
    );
    Upstream::from_config(&config).expect("an upstream is configured")
}

fn signed(server: &TestServer) -> Upstream {
    upstream(
        &server.url("/api/{hub}/{category}/{event}?code=fn-key"),
        Some(KEY),
        &ConnectionEvent::ALL,
    )
}

fn context() -> UpstreamContext {
    let Value::Object(claims) = json!({"role": ["admin", "dev"], "sub": "alice"}) else {
        unreachable!()
    };
    UpstreamContext {
        hub: "chat".parse().unwrap(),
        connection_id: CONNECTION.parse().unwrap(),
        user_id: Some("alice".to_owned()),
        claims,
        client_query: "?hub=chat&id=Qm9vbXM".to_owned(),
    }
}

/// `sha256=` + uppercase hex HMAC-SHA256, computed here independently of the module.
fn expected_signature(key: &str, connection_id: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(key.as_bytes()).unwrap();
    mac.update(connection_id.as_bytes());
    let hex: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect();
    format!("sha256={hex}")
}

fn json_invocation(id: Option<&str>) -> Decoded {
    let id = id.map_or(String::new(), |id| format!(r#""invocationId":"{id}","#));
    let text = format!(r#"{{"type":1,{id}"target":"broadcast","arguments":["hi",{{"n":1}}]}}"#);
    Protocol::Json.decode(text.as_bytes()).unwrap()
}

#[actix_web::test]
async fn connected_carries_every_header_and_the_signature() {
    let server = TestServer::replying(Reply::status(200));
    signed(&server).connected(&context()).await.unwrap();
    let request = server.next_request();
    assert_eq!(request.method, "POST");
    assert_eq!(
        request.target,
        "/api/chat/connections/connected?code=fn-key"
    );
    let header = |name: &str| request.header(name).unwrap_or_default().to_owned();
    assert_eq!(header("content-type"), "application/json");
    assert_eq!(header("x-asrs-connection-id"), CONNECTION);
    assert_eq!(header("x-asrs-hub"), "chat");
    assert_eq!(header("x-asrs-category"), "connections");
    assert_eq!(header("x-asrs-event"), "connected");
    assert_eq!(header("x-asrs-user-id"), "alice");
    assert_eq!(
        header("x-asrs-user-claims"),
        "role: admin, role: dev, sub: alice"
    );
    assert_eq!(header("x-asrs-client-query"), "?hub=chat&id=Qm9vbXM");
    assert_eq!(
        header("x-asrs-signature"),
        expected_signature(KEY, CONNECTION)
    );
    assert!(header("user-agent").starts_with("herald/"));
    assert_eq!(request.body, br#"{"type":10}"#);
}

#[actix_web::test]
async fn disconnected_carries_the_error_when_there_is_one() {
    let server = TestServer::replying(Reply::status(204));
    let upstream = signed(&server);
    upstream
        .disconnected(&context(), Some("Connection closed with an error."))
        .await
        .unwrap();
    let request = server.next_request();
    assert_eq!(
        request.target,
        "/api/chat/connections/disconnected?code=fn-key"
    );
    assert_eq!(request.header("x-asrs-event"), Some("disconnected"));
    assert_eq!(
        request.body,
        br#"{"Type":11,"Error":"Connection closed with an error."}"#
    );
    upstream.disconnected(&context(), None).await.unwrap();
    assert_eq!(server.next_request().body, br#"{"Type":11}"#);
}

#[actix_web::test]
async fn connection_events_not_listed_are_not_sent() {
    let server = TestServer::replying(Reply::status(200));
    let upstream = upstream(
        &server.url("/hook"),
        Some(KEY),
        &[ConnectionEvent::Disconnected],
    );
    assert!(!upstream.forwards(ConnectionEvent::Connected));
    upstream.connected(&context()).await.unwrap();
    assert!(server.received_nothing());
    upstream.disconnected(&context(), None).await.unwrap();
    assert_eq!(server.next_request().target, "/hook");
}

#[actix_web::test]
async fn json_invocation_round_trip() {
    let completion = b"{\"type\":3,\"invocationId\":\"7\",\"result\":{\"echo\":\"hi\"}}\x1e";
    let server = TestServer::replying(Reply::body(200, None, completion));
    let outcome = signed(&server)
        .invoke(&context(), &json_invocation(Some("7")))
        .await
        .unwrap();
    assert_eq!(outcome, InvocationOutcome::Result(json!({"echo": "hi"})));
    let request = server.next_request();
    assert_eq!(request.target, "/api/chat/messages/broadcast?code=fn-key");
    assert_eq!(request.header("content-type"), Some("application/json"));
    assert_eq!(request.header("x-asrs-category"), Some("messages"));
    assert_eq!(request.header("x-asrs-event"), Some("broadcast"));
    assert_eq!(
        request.body,
        br#"{"type":1,"invocationId":"7","target":"broadcast","arguments":["hi",{"n":1}]}"#
    );
}

#[actix_web::test]
async fn msgpack_invocation_round_trip() {
    let invocation = Decoded::MessagePack(HubMessage::Invocation {
        headers: Headers::new(),
        invocation_id: Some("9".into()),
        target: "Upload".into(),
        arguments: vec![rmpv::Value::Binary(vec![0xde, 0xad])],
        stream_ids: Vec::new(),
    });
    let mut completion = Vec::new();
    let answer = HubMessage::Completion {
        headers: Headers::new(),
        invocation_id: "9".into(),
        outcome: Outcome::Result(rmpv::Value::from(42)),
    };
    encode_msgpack(&answer, &mut completion);
    let server = TestServer::replying(Reply::body(200, None, &completion));
    let outcome = signed(&server)
        .invoke(&context(), &invocation)
        .await
        .unwrap();
    assert_eq!(outcome, InvocationOutcome::Result(json!(42)));
    let request = server.next_request();
    assert_eq!(
        request.header("content-type"),
        Some("application/x-msgpack")
    );
    assert_eq!(request.header("x-asrs-event"), Some("Upload"));
    // Unframed: the body is the bare MessagePack array, no varint length prefix.
    assert_eq!(request.body.first(), Some(&0x96));
    assert_eq!(
        Protocol::MessagePack.decode(&request.body).unwrap(),
        invocation
    );
}

#[actix_web::test]
async fn void_and_error_results() {
    let cases: [(Reply, InvocationOutcome); 4] = [
        (Reply::status(204), InvocationOutcome::Void),
        (Reply::status(200), InvocationOutcome::Void),
        (
            Reply::body(
                200,
                Some("application/json"),
                br#"{"type":3,"invocationId":"7"}"#,
            ),
            InvocationOutcome::Void,
        ),
        (
            Reply::body(
                200,
                None,
                b"{\"type\":3,\"invocationId\":\"7\",\"error\":\"no such room\"}\x1e",
            ),
            InvocationOutcome::Error("no such room".into()),
        ),
    ];
    for (reply, expected) in cases {
        let server = TestServer::replying(reply);
        let outcome = signed(&server)
            .invoke(&context(), &json_invocation(Some("7")))
            .await;
        assert_eq!(outcome, Ok(expected));
    }
}

#[actix_web::test]
async fn non_blocking_invocations_ignore_the_body() {
    let server = TestServer::replying(Reply::body(200, None, b"whatever"));
    let outcome = signed(&server)
        .invoke(&context(), &json_invocation(None))
        .await;
    assert_eq!(outcome, Ok(InvocationOutcome::Void));
    assert!(
        !server
            .next_request()
            .body
            .windows(12)
            .any(|w| w == b"invocationId")
    );
}

#[actix_web::test]
async fn other_statuses_are_errors_with_an_excerpt() {
    let long = "x".repeat(300);
    let server = TestServer::replying(Reply::body(500, Some("text/plain"), long.as_bytes()));
    let upstream = signed(&server);
    let error = upstream.connected(&context()).await.unwrap_err();
    let UpstreamError::Status {
        url,
        status,
        body_excerpt,
    } = &error
    else {
        panic!("expected a status error, got {error:?}")
    };
    assert_eq!(*status, 500);
    assert_eq!(
        url,
        &server.url("/api/chat/connections/connected?<redacted>")
    );
    assert_eq!(body_excerpt, &format!("{}…", "x".repeat(200)));
    assert!(!error.to_string().contains("fn-key"), "{error}");
    assert_eq!(error.client_message(), "Invocation failed, status code 500");

    // Azure answers invocations only on 200 and 204.
    let server = TestServer::replying(Reply::body(202, None, b"accepted"));
    let error = signed(&server)
        .invoke(&context(), &json_invocation(Some("7")))
        .await
        .unwrap_err();
    assert!(
        matches!(&error, UpstreamError::Status { status: 202, body_excerpt, .. } if body_excerpt == "accepted"),
        "{error:?}"
    );
}

#[actix_web::test]
async fn unreadable_invocation_answers_are_invalid() {
    let server = TestServer::replying(Reply::body(200, Some("text/plain"), b"{\"ok\":true}"));
    let error = signed(&server)
        .invoke(&context(), &json_invocation(Some("7")))
        .await
        .unwrap_err();
    let UpstreamError::InvalidResponse { body_excerpt, .. } = &error else {
        panic!("expected an invalid response, got {error:?}")
    };
    assert_eq!(body_excerpt, "{\"ok\":true}");
    assert!(
        error
            .to_string()
            .contains("answer 204, or 200 with a Completion"),
        "{error}"
    );
}

#[actix_web::test]
async fn a_silent_upstream_times_out() {
    let server = TestServer::silent();
    let started = Instant::now();
    let error = signed(&server)
        .invoke(&context(), &json_invocation(Some("7")))
        .await
        .unwrap_err();
    assert_eq!(
        error,
        UpstreamError::Timeout {
            url: server.url("/api/chat/messages/broadcast?<redacted>"),
            after: Duration::from_millis(200),
        }
    );
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!(server.next_request().method, "POST");
}

#[actix_web::test]
async fn without_an_access_key_nothing_is_signed() {
    let server = TestServer::replying(Reply::status(200));
    let upstream = upstream(&server.url("/hook"), None, &ConnectionEvent::ALL);
    upstream.connected(&context()).await.unwrap();
    let request = server.next_request();
    assert_eq!(request.header("x-asrs-signature"), None);
    assert_eq!(request.header("x-asrs-connection-id"), Some(CONNECTION));
}

#[actix_web::test]
async fn unreachable_upstreams_are_transport_errors() {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let upstream = upstream(
        &format!("http://127.0.0.1:{port}/x?code=fn-key"),
        Some(KEY),
        &ConnectionEvent::ALL,
    );
    let error = upstream.connected(&context()).await.unwrap_err();
    assert!(
        matches!(error, UpstreamError::Transport { .. }),
        "{error:?}"
    );
    assert!(
        !format!("{error} {error:?}").contains("fn-key"),
        "{error:?}"
    );
}

#[actix_web::test]
async fn only_invocations_are_forwarded() {
    let server = TestServer::replying(Reply::status(200));
    let stream = Protocol::Json
        .decode(br#"{"type":4,"invocationId":"1","target":"Counter","arguments":[]}"#)
        .unwrap();
    let error = signed(&server)
        .invoke(&context(), &stream)
        .await
        .unwrap_err();
    assert!(
        matches!(error, UpstreamError::NotAnInvocation { .. }),
        "{error:?}"
    );
    assert!(server.received_nothing());
}

#[test]
fn upstream_is_shared_across_threads() {
    fn shareable<T: Send + Sync + Clone + 'static>() {}
    fn sendable<T: Send>(_: &T) {}
    shareable::<Upstream>();
    let server = TestServer::replying(Reply::status(200));
    let upstream = signed(&server);
    let ctx = context();
    let message = json_invocation(Some("1"));
    sendable(&upstream.connected(&ctx));
    sendable(&upstream.disconnected(&ctx, None));
    sendable(&upstream.invoke(&ctx, &message));
}

#[test]
fn no_template_means_no_upstream() {
    assert!(Upstream::from_config(&Config::default()).is_none());
    let server = TestServer::replying(Reply::status(200));
    let debug = format!("{:?}", signed(&server));
    assert!(
        debug.contains("?<redacted>") && !debug.contains(KEY),
        "{debug}"
    );
}
