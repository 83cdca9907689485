//! A two-node cluster on a Sentinel-managed Redis (`redis+sentinel://.../mymaster`): the nodes
//! find the master through the Sentinel, so a broadcast through node A (`n1`) reaches an
//! official JS client on node B (`n2`); and after the master is SIGKILLed and the Sentinel
//! promotes the replica, delivery through A to the same client resumes within 30 s.

use herald_tests::js_client::CONNECT_TIMEOUT;
use herald_tests::wait::deadline_in;
use herald_tests::{
    ClusterBuilder, ClusterSandbox, JsClient, JsOptions, RedisSentinel, RedisServer, Rest, unique,
};
use serde_json::json;
use std::time::{Duration, Instant};

const A: usize = 0;
const B: usize = 1;
/// How long after the master's death delivery through A to B must work again.
const RESUME_WITHIN: Duration = Duration::from_secs(30);
/// How long the Sentinel may take to promote the replica.
const PROMOTION_SECONDS: u64 = 20;
/// How long to wait for an arrival before sending the next marker during the failover.
const MARKER_INTERVAL: Duration = Duration::from_millis(250);

/// Starts the Sentinel fixture, two nodes on it and a JS client on B listening to `num`.
fn start() -> (RedisSentinel, ClusterSandbox, String, JsClient) {
    let sentinel = RedisSentinel::start();
    let cluster = ClusterBuilder::new(&sentinel.url(), 2).start();
    let hub = unique("sentinel");
    let client = JsClient::connect(&JsOptions::new(
        &cluster.client_url(B, &hub),
        None,
        &["num"],
    ));
    assert!(
        client.connection_id().ends_with(".n2"),
        "connection id {} is not on n2",
        client.connection_id()
    );
    (sentinel, cluster, hub, client)
}

/// The pub/sub channels of the cluster subscribed on `server`, sorted.
fn channels(server: &RedisServer, prefix: &str) -> Vec<String> {
    let reply = server.cli(&["PUBSUB", "CHANNELS", &format!("{prefix}:*")]);
    let mut channels: Vec<String> = reply.lines().map(str::to_owned).collect();
    channels.sort();
    channels
}

/// Broadcasts `num(number)` through `rest`; asserts 202.
fn broadcast(rest: &Rest, hub: &str, number: u64) {
    let reply = rest.broadcast(hub, "num", &json!([number]));
    assert_eq!(
        reply.status, 202,
        "broadcast of {number} answered {}: {}",
        reply.status, reply.body
    );
}

/// The number of the next `num` message of `client` within `timeout`; panics on any other
/// event (the client must not lose its connection).
fn next_number(client: &mut JsClient, timeout: Duration) -> Option<u64> {
    let event = client.driver().next_event(timeout)?;
    assert_eq!(event["event"], "message", "unexpected event {event}");
    assert_eq!(event["target"], "num", "unexpected message {event}");
    Some(event["arguments"][0].as_u64().expect("a number"))
}

#[test]
fn broadcast_through_one_node_reaches_a_client_on_another_via_sentinel() {
    let (sentinel, cluster, hub, mut client) = start();
    broadcast(&cluster.rest(A), &hub, 1);
    client.expect_message("num", &json!([1]));

    // The nodes subscribed on the master the Sentinel names, not on the replica.
    let on_master = channels(sentinel.master(), cluster.prefix());
    assert!(
        !on_master.is_empty(),
        "no {}:* channel subscribed on the master",
        cluster.prefix()
    );
    assert_eq!(
        channels(sentinel.replica(), cluster.prefix()),
        Vec::<String>::new()
    );
    cluster.assert_no_panic();
}

#[test]
fn delivery_resumes_after_the_sentinel_promotes_the_replica() {
    let (mut sentinel, cluster, hub, mut client) = start();
    let rest = cluster.rest(A);
    broadcast(&rest, &hub, 0);
    client.expect_message("num", &json!([0]));

    let killed_at = Instant::now();
    sentinel.kill_master();
    let promoted_at = sentinel
        .wait_for_promotion(deadline_in(PROMOTION_SECONDS))
        .unwrap_or_else(|| {
            panic!(
                "the sentinel did not promote replica {} within {PROMOTION_SECONDS}s; log:\n{}",
                sentinel.replica().port(),
                sentinel.sentinel_log()
            )
        });

    // Markers through A until one reaches the client on B.
    let mut sent = 1;
    let mut received = Vec::new();
    let resumed_at = loop {
        broadcast(&rest, &hub, sent);
        sent += 1;
        if let Some(number) = next_number(&mut client, MARKER_INTERVAL) {
            received.push(number);
            break Instant::now();
        }
        assert!(
            killed_at.elapsed() < RESUME_WITHIN,
            "no marker of {sent} reached n2 within {RESUME_WITHIN:?} of the master's death \
             (promotion after {:?});\nsentinel log:\n{}\n{}",
            promoted_at - killed_at,
            sentinel.sentinel_log(),
            cluster.logs()
        );
    };
    eprintln!(
        "sentinel failover: promotion after {:?}, first marker (#{}) delivered after {:?}; \
         {sent} markers sent",
        promoted_at - killed_at,
        received[0],
        resumed_at - killed_at
    );

    // A last marker; every marker sent since the kill arrives once, in order (buffered by A).
    let last = sent;
    broadcast(&rest, &hub, last);
    while received.last() != Some(&last) {
        let number = next_number(&mut client, CONNECT_TIMEOUT)
            .unwrap_or_else(|| panic!("marker {last} never arrived; got {received:?}"));
        received.push(number);
    }
    let expected: Vec<u64> = (1..=last).collect();
    assert_eq!(
        received, expected,
        "markers lost, duplicated or out of order"
    );

    // The nodes now subscribe on the promoted replica.
    assert!(
        !channels(sentinel.replica(), cluster.prefix()).is_empty(),
        "no {}:* channel subscribed on the promoted replica",
        cluster.prefix()
    );
    cluster.assert_no_panic();
}
