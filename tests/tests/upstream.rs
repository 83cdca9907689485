//! Client invocations and connection events forwarded to an upstream endpoint, as Azure SignalR
//! Service does in serverless mode.

use std::time::{Duration, Instant};

use herald_tests::upstream_server::{UpstreamRequest, UpstreamServer};
use herald_tests::{HeraldConfig, JsClient, JsOptions, Protocol, Transport, unique};
use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha256;

fn deadline() -> Instant {
    Instant::now() + Duration::from_secs(10)
}

/// Answers `add` with the sum of its arguments, fails `fail` with a 500, and accepts
/// connection events.
fn application(request: &UpstreamRequest) -> (u16, &'static str, Vec<u8>) {
    if request.path.ends_with("/messages/add") {
        let (id, arguments) = invocation(request);
        let sum: i64 = arguments.iter().map(|v| v.as_i64().unwrap()).sum();
        // A JSON Completion, whatever the client speaks: the content type says which.
        let completion = json!({"type": 3, "invocationId": id, "result": sum});
        let mut body = serde_json::to_vec(&completion).unwrap();
        body.push(0x1e);
        (200, "application/json", body)
    } else if request.path.ends_with("/messages/fail") {
        (500, "text/plain", b"boom".to_vec())
    } else {
        (200, "text/plain", Vec::new())
    }
}

/// The invocation id and arguments of an invocation in either protocol.
fn invocation(request: &UpstreamRequest) -> (String, Vec<Value>) {
    if request.header("content-type") == Some("application/x-msgpack") {
        let body = rmpv::decode::read_value(&mut request.body.as_slice()).unwrap();
        let id = body[2].as_str().unwrap().to_owned();
        let arguments = body[4]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| json!(v.as_i64().unwrap()))
            .collect();
        (id, arguments)
    } else {
        let body = request.json();
        (
            body["invocationId"].as_str().unwrap().to_owned(),
            body["arguments"].as_array().unwrap().clone(),
        )
    }
}

fn signature(key: &str, connection_id: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(key.as_bytes()).unwrap();
    mac.update(connection_id.as_bytes());
    let hex: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("sha256={hex}")
}

fn invoke(client: &mut JsClient, id: u32, target: &str, arguments: Value) -> Value {
    client
        .driver()
        .command(&json!({"cmd": "invoke", "id": id, "target": target, "arguments": arguments}));
    client.driver().wait_for(
        &format!("the answer to invocation {id}"),
        Duration::from_secs(10),
        |e| e["id"] == id && (e["event"] == "result" || e["event"] == "invokeError"),
    )
}

fn invocations_reach_the_upstream(protocol: Protocol, transport: Transport) {
    let upstream = UpstreamServer::start(application);
    let server = HeraldConfig::new()
        .env("HERALD_UPSTREAM_URL_TEMPLATE", &upstream.url_template())
        .start();
    let hub = unique("up");
    let user = unique("user");
    let options = JsOptions::new(
        &server.client_url(&hub),
        server.client_token(&hub, &user),
        &["msg"],
    )
    .protocol(protocol)
    .transport(transport);
    let mut client = JsClient::connect(&options);
    let connection_id = client.connection_id().to_owned();

    let connected = upstream.wait_for(&format!("/{hub}/api/connections/connected"), deadline());
    assert_eq!(connected.method, "POST");
    assert_eq!(connected.header("x-asrs-hub"), Some(hub.as_str()));
    assert_eq!(
        connected.header("x-asrs-connection-id"),
        Some(connection_id.as_str())
    );
    assert_eq!(connected.header("x-asrs-user-id"), Some(user.as_str()));
    assert_eq!(connected.header("x-asrs-category"), Some("connections"));
    assert_eq!(connected.header("x-asrs-event"), Some("connected"));
    let key = server.access_key().unwrap();
    assert_eq!(
        connected
            .header("x-asrs-signature")
            .map(str::to_ascii_lowercase),
        Some(signature(key, &connection_id)),
    );

    let answer = invoke(&mut client, 1, "add", json!([2, 3, 37]));
    assert_eq!(answer["event"], "result", "{answer}");
    assert_eq!(answer["result"], 42);
    let message = upstream.wait_for(&format!("/{hub}/api/messages/add"), deadline());
    assert_eq!(message.header("x-asrs-category"), Some("messages"));
    assert_eq!(message.header("x-asrs-event"), Some("add"));
    match protocol {
        Protocol::Json => {
            assert_eq!(message.header("content-type"), Some("application/json"));
            let body = message.json();
            assert_eq!(
                (body["type"].clone(), body["target"].clone()),
                (json!(1), json!("add"))
            );
            assert_eq!(body["arguments"], json!([2, 3, 37]));
        }
        Protocol::MessagePack => {
            assert_eq!(
                message.header("content-type"),
                Some("application/x-msgpack")
            );
            let body = rmpv::decode::read_value(&mut message.body.as_slice()).unwrap();
            assert_eq!(body[0].as_u64(), Some(1), "an Invocation: {body}");
            assert_eq!(body[3].as_str(), Some("add"), "{body}");
        }
    }

    let failed = invoke(&mut client, 2, "fail", json!([]));
    assert_eq!(failed["event"], "invokeError", "{failed}");
    assert!(
        failed["message"].as_str().unwrap().contains("500"),
        "{failed}"
    );

    // A failed invocation does not end the connection.
    let again = invoke(&mut client, 3, "add", json!([1, 1]));
    assert_eq!(again["result"], 2);

    client.stop();
    let disconnected =
        upstream.wait_for(&format!("/{hub}/api/connections/disconnected"), deadline());
    assert_eq!(
        disconnected.header("x-asrs-connection-id"),
        Some(connection_id.as_str())
    );
    server.assert_no_panic();
}

#[test]
fn json_client_over_websockets() {
    invocations_reach_the_upstream(Protocol::Json, Transport::WebSockets);
}

#[test]
fn messagepack_client_over_websockets() {
    invocations_reach_the_upstream(Protocol::MessagePack, Transport::WebSockets);
}

#[test]
fn json_client_over_long_polling() {
    invocations_reach_the_upstream(Protocol::Json, Transport::LongPolling);
}

#[test]
fn json_client_over_server_sent_events() {
    invocations_reach_the_upstream(Protocol::Json, Transport::ServerSentEvents);
}

#[test]
fn without_an_upstream_invocations_get_a_clear_error() {
    let server = HeraldConfig::new().start();
    let hub = unique("noup");
    let options = JsOptions::new(
        &server.client_url(&hub),
        server.client_token(&hub, "u"),
        &["msg"],
    );
    let mut client = JsClient::connect(&options);
    let answer = invoke(&mut client, 1, "add", json!([1]));
    assert_eq!(answer["event"], "invokeError");
    assert!(
        answer["message"]
            .as_str()
            .unwrap()
            .contains("no upstream is configured"),
        "{answer}"
    );
    client.stop();
}

#[test]
fn an_unreachable_upstream_fails_the_invocation_not_the_connection() {
    // Nothing listens on a port whose listener was dropped.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let template = format!("http://127.0.0.1:{port}/{{hub}}/api/{{category}}/{{event}}");
    let server = HeraldConfig::new()
        .env("HERALD_UPSTREAM_URL_TEMPLATE", &template)
        .env("HERALD_UPSTREAM_TIMEOUT", "2s")
        .start();
    let hub = unique("deadup");
    let options = JsOptions::new(
        &server.client_url(&hub),
        server.client_token(&hub, "u"),
        &["msg"],
    );
    let mut client = JsClient::connect(&options);
    let answer = invoke(&mut client, 1, "add", json!([1]));
    assert_eq!(answer["event"], "invokeError", "{answer}");
    let rest = server.rest();
    rest.broadcast(&hub, "msg", &json!(["still connected"]))
        .assert_status(202);
    client.expect_message("msg", &json!(["still connected"]));
    client.stop();
    server.assert_no_panic();
}
