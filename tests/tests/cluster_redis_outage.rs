//! A Redis outage in the middle of a stream: node A (`n1`) keeps accepting broadcasts while
//! Redis is down (quickly, with 202), buffers them, reports the outage on `/readyz`, and
//! flushes them in order once Redis is back on the same port. The client on node B (`n2`)
//! stays connected and receives every number exactly once, in order.

use herald_tests::js_client::CONNECT_TIMEOUT;
use herald_tests::metrics::sum_of;
use herald_tests::wait::deadline_in;
use herald_tests::{ClusterBuilder, JsClient, JsOptions, RedisServer, Rest, unique, wait_until};
use serde_json::json;
use std::time::{Duration, Instant};

const A: usize = 0;
const B: usize = 1;
/// The longest a REST send may take, Redis up or down.
const MAX_SEND: Duration = Duration::from_secs(1);
/// How long readiness may take to follow Redis going away and coming back.
const READINESS_SECONDS: u64 = 20;
/// Sends in each phase of the stream that is not bounded by a condition.
const BATCH: u64 = 10;

/// Broadcasts numbers to a hub through one node and keeps the count and the slowest send.
struct Stream<'a> {
    rest: &'a Rest,
    hub: &'a str,
    next: u64,
    slowest: Duration,
}

impl Stream<'_> {
    /// Broadcasts the next number; asserts a quick 202.
    fn send(&mut self) {
        let started = Instant::now();
        let reply = self.rest.broadcast(self.hub, "num", &json!([self.next]));
        let took = started.elapsed();
        assert_eq!(
            reply.status, 202,
            "broadcast of {} answered {}: {}",
            self.next, reply.status, reply.body
        );
        assert!(took <= MAX_SEND, "broadcast of {} took {took:?}", self.next);
        self.slowest = self.slowest.max(took);
        self.next += 1;
    }

    /// Sends until `condition` holds (checked after each send), at most until `seconds` pass.
    fn send_until(&mut self, seconds: u64, what: &str, mut condition: impl FnMut() -> bool) {
        let deadline = deadline_in(seconds);
        loop {
            self.send();
            if condition() {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "{what} did not happen within {seconds}s ({} sent)",
                self.next
            );
        }
    }
}

#[test]
fn broadcasts_survive_a_redis_restart_in_order() {
    let mut redis = RedisServer::start();
    let cluster = ClusterBuilder::new(&redis.url(), 2).start();
    let hub = unique("outage");
    let options = JsOptions::new(&cluster.client_url(B, &hub), None, &["num"]);
    let mut client = JsClient::connect(&options);
    assert!(client.connection_id().ends_with(".n2"));
    let rest = cluster.rest(A);
    let ready = |node: usize| cluster.node(node).admin_get("/readyz").0 == 200;
    let mut stream = Stream {
        rest: &rest,
        hub: &hub,
        next: 0,
        slowest: Duration::ZERO,
    };

    // The path works before the outage: the first number arrives.
    stream.send();
    client.expect_message("num", &json!([0]));
    for _ in 0..BATCH {
        stream.send();
    }

    redis.kill();
    stream.send_until(READINESS_SECONDS, "n1 and n2 /readyz turning 503", || {
        cluster.node(A).admin_get("/readyz").0 == 503
            && cluster.node(B).admin_get("/readyz").0 == 503
    });
    let down_at = stream.next;
    for _ in 0..5 * BATCH {
        stream.send();
    }
    let buffered = sum_of(
        &cluster.node(A).admin_get("/metrics").1,
        "herald_backplane_buffered_bytes",
    );
    assert!(buffered > 0.0, "n1 buffers nothing while Redis is down");

    redis.restart();
    stream.send_until(READINESS_SECONDS, "n1 and n2 /readyz back to 200", || {
        ready(A) && ready(B)
    });
    for _ in 0..BATCH {
        stream.send();
    }
    let last = stream.next - 1;
    eprintln!(
        "outage stream: {} numbers, readiness 503 after #{down_at}, slowest send {:?}",
        stream.next, stream.slowest
    );

    let mut received = vec![0];
    while received.last() != Some(&last) {
        let message = client.driver().wait_for_event("message", CONNECT_TIMEOUT);
        assert_eq!(message["target"], "num", "unexpected message {message}");
        let number = message["arguments"][0].as_u64().expect("a number");
        received.push(number);
        // A duplicate or a gap shows up as soon as it happens.
        let expected: Vec<u64> = (0..=number).collect();
        assert_eq!(
            received, expected,
            "numbers out of order, duplicated or missing"
        );
    }

    // The client never lost its connection.
    let trouble: Vec<_> = client
        .driver()
        .seen()
        .iter()
        .filter(|e| {
            matches!(
                e["event"].as_str(),
                Some("closed" | "reconnecting" | "error")
            )
        })
        .cloned()
        .collect();
    assert!(trouble.is_empty(), "the client saw {trouble:?}");

    // The node channel of B is subscribed again: a connection send through A arrives.
    let id = client.connection_id().to_owned();
    rest.send_to_connection(&hub, &id, "num", &json!([last + 1]))
        .assert_status(202);
    client.expect_message("num", &json!([last + 1]));

    let metrics_a = cluster.node(A).admin_get("/metrics").1;
    let drained = wait_until(deadline_in(5), || {
        sum_of(
            &cluster.node(A).admin_get("/metrics").1,
            "herald_backplane_buffered_bytes",
        ) == 0.0
    });
    assert!(drained, "n1 still reports buffered bytes:\n{metrics_a}");
    assert_eq!(
        sum_of(&metrics_a, "herald_backplane_dropped_total"),
        0.0,
        "n1 dropped publishes:\n{metrics_a}"
    );
    for node in [A, B] {
        let metrics = cluster.node(node).admin_get("/metrics").1;
        let reconnects = sum_of(&metrics, "herald_backplane_reconnects_total");
        assert!(
            reconnects >= 1.0,
            "n{} counts {reconnects} backplane reconnects",
            node + 1
        );
    }
    cluster.assert_no_panic();
}
