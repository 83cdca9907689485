//! Herald on a Redis Cluster (three masters, three replicas, `redis+cluster://`): group
//! messages reach clients on both herald nodes; when the master serving the group channel's
//! slot is killed, delivery resumes after the failover within a bounded time.

use herald_tests::js_client::MESSAGE_TIMEOUT;
use herald_tests::redis_cluster::NODE_TIMEOUT_MS;
use herald_tests::wait::deadline_in;
use herald_tests::{ClusterBuilder, JsClient, JsOptions, RedisCluster, unique, wait_until};
use serde_json::{Value, json};
use std::time::{Duration, Instant};

/// The longest delivery may take to resume after the master is killed.
const RESUME_WITHIN: Duration = Duration::from_secs(30);
/// How long one marker is waited for before the next is sent.
const MARKER_WAIT: Duration = Duration::from_millis(500);

/// The next `msg` message's arguments, if one arrives within `timeout`.
fn next_msg(client: &mut JsClient, timeout: Duration) -> Option<Value> {
    let deadline = Instant::now() + timeout;
    loop {
        let remaining = deadline.saturating_duration_since(Instant::now());
        let event = client.driver().next_event(remaining)?;
        match event["event"].as_str() {
            Some("message") => return Some(event["arguments"].clone()),
            Some("closed" | "error" | "reconnecting") => panic!("the client failed: {event}"),
            _ => {}
        }
    }
}

#[test]
fn group_delivery_resumes_after_the_channel_master_fails_over() {
    let mut redis = RedisCluster::start();
    let cluster = ClusterBuilder::new(&redis.url(), 2).start();
    let hub = unique("rcluster");
    let group = unique("grp");
    let mut clients: Vec<JsClient> = (0..2)
        .map(|node| {
            let options = JsOptions::new(&cluster.client_url(node, &hub), None, &["msg"]);
            let client = JsClient::connect(&options);
            cluster
                .rest(node)
                .group_connection("PUT", &hub, &group, client.connection_id())
                .assert_status(202);
            client
        })
        .collect();
    let rest = cluster.rest(0);
    // A group join subscribes its node to the group's channel in the background: a message
    // published before that subscription is live misses the member (Redis pub/sub). Send until
    // both members got one, then a last one each reads up to, so none is left pending.
    let joined = Instant::now();
    let mut got = [false, false];
    let mut warmups = 0u64;
    while got.contains(&false) {
        assert!(
            joined.elapsed() < RESUME_WITHIN,
            "the group's members never got a message: {got:?}\n{}",
            cluster.logs()
        );
        warmups += 1;
        rest.send_to_group(&hub, &group, "msg", &json!(["before", warmups]))
            .assert_status(202);
        for (index, client) in clients.iter_mut().enumerate() {
            if !got[index]
                && let Some(arguments) = next_msg(client, MARKER_WAIT)
            {
                assert_eq!(arguments[0], "before", "unexpected message {arguments}");
                got[index] = true;
            }
        }
    }
    rest.send_to_group(&hub, &group, "msg", &json!(["ready", 0]))
        .assert_status(202);
    for client in &mut clients {
        loop {
            let arguments = next_msg(client, MESSAGE_TIMEOUT).expect("the ready message");
            if arguments[0] == "ready" {
                break;
            }
            assert_eq!(arguments[0], "before", "unexpected message {arguments}");
        }
    }

    let channel = cluster.group_channel(&hub, &group);
    let slot = redis.keyslot(&channel);
    let master = redis
        .master_of_slot(slot)
        .unwrap_or_else(|| panic!("no master serves slot {slot} of {channel}"));
    redis.kill_port(master);
    let killed = Instant::now();

    // Markers until both clients got one: each is waited for briefly, then the next is sent.
    // Markers published before the failover may arrive late (buffered) or never (lost with the
    // master); only their order matters.
    let mut arrived = [None, None];
    let mut first_marker = [0u64, 0];
    let mut sent = 0u64;
    let mut promoted_at = None;
    while arrived.iter().any(Option::is_none) {
        assert!(
            killed.elapsed() < RESUME_WITHIN,
            "no marker reached {:?} within {RESUME_WITHIN:?} of killing master {master} \
             ({sent} markers sent; failover done: {}, slot {slot} master now {:?})\n{}",
            arrived,
            redis.all_running_ok(),
            redis.master_of_slot(slot),
            cluster.logs()
        );
        if promoted_at.is_none() && redis.master_of_slot(slot).is_some_and(|p| p != master) {
            promoted_at = Some(killed.elapsed());
        }
        sent += 1;
        let reply = rest.send_to_group(&hub, &group, "msg", &json!(["marker", sent]));
        assert_eq!(reply.status, 202, "marker {sent}: {}", reply.body);
        for (index, client) in clients.iter_mut().enumerate() {
            if arrived[index].is_none()
                && let Some(arguments) = next_msg(client, MARKER_WAIT)
            {
                assert_eq!(arguments[0], "marker", "unexpected message {arguments}");
                arrived[index] = Some(killed.elapsed());
                first_marker[index] = arguments[1].as_u64().expect("a marker number");
            }
        }
    }
    let resumed = arrived
        .iter()
        .flatten()
        .max()
        .copied()
        .expect("both arrived");
    eprintln!(
        "redis cluster failover: delivery resumed {resumed:?} after killing master {master} \
         (cluster-node-timeout {NODE_TIMEOUT_MS} ms; replica seen promoted after \
         {promoted_at:?}; {sent} markers sent)"
    );

    // Delivery is steady again: a final message arrives after whatever markers were pending,
    // with marker numbers increasing (no duplicates, no reordering).
    let failed_over = wait_until(deadline_in(10), || {
        redis
            .master_of_slot(slot)
            .is_some_and(|port| port != master)
    });
    assert!(failed_over, "slot {slot} has no new master");
    rest.send_to_group(&hub, &group, "msg", &json!(["after", sent + 1]))
        .assert_status(202);
    for (client, first) in clients.iter_mut().zip(first_marker) {
        let mut last_marker = first;
        loop {
            let arguments = next_msg(client, MESSAGE_TIMEOUT).expect("the final message");
            if arguments[0] == "after" {
                assert_eq!(arguments, json!(["after", sent + 1]));
                break;
            }
            let marker = arguments[1].as_u64().expect("a marker number");
            assert!(marker > last_marker, "marker {marker} after {last_marker}");
            last_marker = marker;
        }
    }
    cluster.assert_no_panic();
}
