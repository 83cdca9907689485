//! No sticky sessions needed: official JS clients over long polling and Server-Sent Events
//! reach a three-node cluster through a round-robin load balancer that sends every HTTP
//! request to the next node. Polls, event streams and sends that land on a node other than
//! the connection's owner are forwarded to it, so every broadcast arrives, in order, and
//! invocations (a `POST` out, a completion back) work.

use herald_tests::js_client::{CONNECT_TIMEOUT, MESSAGE_TIMEOUT};
use herald_tests::metrics::sum_of;
use herald_tests::wait::deadline_in;
use herald_tests::{
    ClusterBuilder, JsClient, JsOptions, RedisServer, RoundRobinProxy, Transport, unique,
    wait_until,
};
use serde_json::{Value, json};

/// Broadcasts in the stream.
const MESSAGES: u64 = 30;
/// An invocation every this many broadcasts.
const INVOKE_EVERY: u64 = 10;

/// Invokes a hub method; without an upstream the owner answers with a completion error.
fn invoke_round_trip(client: &mut JsClient, id: u64) {
    client
        .driver()
        .command(&json!({"cmd": "invoke", "id": id, "target": "echo", "arguments": [id]}));
    let answer = client.driver().wait_for(
        &format!("the completion of invocation {id}"),
        MESSAGE_TIMEOUT,
        |e| e["id"] == id && (e["event"] == "result" || e["event"] == "invokeError"),
    );
    assert_eq!(answer["event"], "invokeError", "{answer}");
    let message = answer["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("no upstream is configured"),
        "unexpected completion: {answer}"
    );
}

/// The `num` arguments received (since the client connected) once `last` is among them, in
/// arrival order; other waits may have consumed the events, so they are read from the record.
fn numbers_until(client: &mut JsClient, last: u64) -> Vec<u64> {
    let numbers = |client: &mut JsClient| -> Vec<u64> {
        client
            .driver()
            .seen()
            .iter()
            .filter(|e| e["event"] == "message")
            .map(|e| {
                assert_eq!(e["target"], "num", "unexpected message {e}");
                e["arguments"][0].as_u64().expect("a number")
            })
            .collect()
    };
    while !numbers(client).contains(&last) {
        let event = client
            .driver()
            .next_event(MESSAGE_TIMEOUT + CONNECT_TIMEOUT);
        assert!(
            event.is_some(),
            "no number {last}; got {:?}",
            numbers(client)
        );
    }
    numbers(client)
}

/// `(node index of the owner, backend index)` of every request of the proxy log that names a
/// connection (`id=...<.nX>`) and whose request line starts with `method`.
fn routed(proxy: &RoundRobinProxy, method: &str) -> Vec<(usize, usize)> {
    proxy
        .request_log()
        .iter()
        .filter(|(_, line)| line.starts_with(&format!("{method} ")))
        .filter_map(|(backend, line)| {
            let id = line.split("id=").nth(1)?.split(['&', ' ']).next()?;
            let node: usize = id.rsplit_once(".n")?.1.parse().ok()?;
            Some((node - 1, *backend))
        })
        .collect()
}

#[test]
fn http_transports_work_through_a_round_robin_balancer() {
    let redis = RedisServer::start();
    let cluster = ClusterBuilder::new(&redis.url(), 3).start();
    let proxy = RoundRobinProxy::for_cluster(&cluster);
    let hub = unique("nosticky");
    let connect = |transport| {
        let options = JsOptions::new(&proxy.client_url(&hub), None, &["num"]).transport(transport);
        JsClient::connect(&options)
    };
    let mut clients = [
        connect(Transport::ServerSentEvents),
        connect(Transport::LongPolling),
    ];
    assert_eq!(
        clients[0].transport_class(),
        Some("ServerSentEventsTransport")
    );
    assert_eq!(clients[1].transport_class(), Some("LongPollingTransport"));
    let ids: Vec<String> = clients
        .iter()
        .map(|c| c.connection_id().to_owned())
        .collect();

    // Both connections are known cluster-wide before the stream starts.
    let rest = cluster.rest(0);
    for id in &ids {
        let known = wait_until(deadline_in(10), || {
            rest.head(&hub, &format!("/connections/{id}")).status == 200
        });
        assert!(known, "HEAD /connections/{id} on n1 never answered 200");
    }

    for n in 0..MESSAGES {
        rest.broadcast(&hub, "num", &json!([n])).assert_status(202);
        if n % INVOKE_EVERY == INVOKE_EVERY - 1 {
            for client in &mut clients {
                invoke_round_trip(client, n);
            }
        }
    }
    let expected: Vec<u64> = (0..MESSAGES).collect();
    for (client, name) in clients.iter_mut().zip(["SSE", "long polling"]) {
        assert_eq!(
            numbers_until(client, MESSAGES - 1),
            expected,
            "the {name} client did not receive every broadcast in order"
        );
    }

    // The balancer spread the requests, and some of them landed on a node that does not own
    // the connection: those were forwarded.
    let per_backend = proxy.requests_per_backend();
    assert!(
        per_backend.iter().all(|n| *n > 0),
        "requests per node: {per_backend:?}"
    );
    for method in ["GET", "POST"] {
        let foreign = routed(&proxy, method)
            .iter()
            .filter(|(owner, backend)| owner != backend)
            .count();
        assert!(
            foreign >= 2,
            "only {foreign} {method} requests reached a non-owner node; log: {:#?}",
            proxy.request_log()
        );
    }
    let forwarded: f64 = cluster
        .nodes()
        .iter()
        .map(|node| {
            sum_of(
                &node.admin_get("/metrics").1,
                "herald_forwarded_requests_total",
            )
        })
        .sum();
    assert!(
        forwarded >= 4.0,
        "herald_forwarded_requests_total sums to {forwarded}"
    );

    // Stopping (a DELETE, also through the balancer) removes each connection everywhere.
    for client in &mut clients {
        client.stop();
    }
    for id in &ids {
        let gone = wait_until(deadline_in(10), || {
            rest.head(&hub, &format!("/connections/{id}")).status == 404
        });
        assert!(
            gone,
            "HEAD /connections/{id} on n1 still 200 after the client stopped"
        );
    }
    for client in &mut clients {
        let failures: Vec<Value> = client
            .driver()
            .seen()
            .iter()
            .filter(|e| e["event"] == "error" || (e["event"] == "closed" && !e["error"].is_null()))
            .cloned()
            .collect();
        assert!(failures.is_empty(), "client failures: {failures:?}");
    }
    cluster.assert_no_panic();
}
