//! Herald on a Redis Cluster (three masters, three replicas, `redis+cluster://`): group
//! messages reach clients on both herald nodes; when the master serving the group channel's
//! slot is killed, delivery resumes after the failover within a bounded time; when the slot
//! migrates to another master while messages flow, the node subscribes again where the slot
//! went and loses nothing after that.

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
             ({sent} markers sent; failover done: {}, slot {slot} master now {:?})\n{}\n{}",
            arrived,
            redis.all_running_ok(),
            redis.master_of_slot(slot),
            cluster.logs(),
            redis.report(&channel)
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

/// Messages a sender thread publishes, one every `SEND_EVERY`, while slots move.
const SEND_EVERY: Duration = Duration::from_millis(20);

#[test]
fn group_delivery_follows_the_channel_slot_as_it_migrates() {
    let redis = RedisCluster::start();
    let cluster = ClusterBuilder::new(&redis.url(), 2).start();
    let hub = unique("reshard");
    let group = unique("grp");
    let options = JsOptions::new(&cluster.client_url(1, &hub), None, &["msg"]);
    let mut client = JsClient::connect(&options);
    // An acknowledged join: live for the next send, no warm-up needed.
    cluster
        .rest(0)
        .group_connection("PUT", &hub, &group, client.connection_id())
        .assert_status(202);
    let channel = cluster.group_channel(&hub, &group);
    let slot = redis.keyslot(&channel);
    redis.set(&channel, "a key that migrates with the slot");

    // Sequenced sends from node A for the whole test, in a thread of their own.
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let sender = {
        let (rest, hub, group, stop) = (cluster.rest(0), hub.clone(), group.clone(), stop.clone());
        std::thread::spawn(move || {
            let mut sent = 0u64;
            while !stop.load(std::sync::atomic::Ordering::SeqCst) {
                sent += 1;
                rest.send_to_group(&hub, &group, "msg", &json!([sent]))
                    .assert_status(202);
                std::thread::sleep(SEND_EVERY);
            }
            sent
        })
    };
    let mut received: Vec<u64> = Vec::new();
    let mut read_for = |client: &mut JsClient, period: Duration| {
        let until = Instant::now() + period;
        while let Some(arguments) =
            next_msg(client, until.saturating_duration_since(Instant::now()))
        {
            received.push(arguments[0].as_u64().expect("a sequence number"));
        }
    };
    const ROUNDS: usize = 3;
    read_for(&mut client, Duration::from_secs(1));
    for round in 0..ROUNDS {
        let from = redis
            .master_of_slot(slot)
            .expect("a master serves the slot");
        let to = *redis
            .master_ports()
            .iter()
            .find(|&&port| port != from)
            .expect("another master");
        assert_eq!(redis.migrate_slot(slot, to), from);
        assert!(
            wait_until(deadline_in(10), || redis.master_of_slot(slot) == Some(to)),
            "round {round}: slot {slot} did not settle on {to}"
        );
        read_for(&mut client, Duration::from_secs(2));
    }
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    let sent = sender.join().expect("the sender thread");
    read_for(&mut client, Duration::from_secs(2));

    // In order, each once; a gap only where a migration moved the slot (a message published
    // between the slot moving and the node subscribing at its new master), and nothing lost
    // in the last second of sends, long after the last migration.
    assert!(
        received.windows(2).all(|w| w[0] < w[1]),
        "out of order or duplicated: {received:?}"
    );
    let gaps: Vec<(u64, u64)> = received
        .windows(2)
        .filter(|w| w[1] != w[0] + 1)
        .map(|w| (w[0], w[1]))
        .collect();
    let gap_messages: u64 = gaps.iter().map(|(a, b)| b - a - 1).sum();
    assert!(
        gaps.len() <= ROUNDS,
        "more gaps than migrations: {gaps:?}\n{}",
        cluster.logs()
    );
    assert_eq!(
        received.last().copied(),
        Some(sent),
        "the last message arrived; gaps {gaps:?}\n{}",
        cluster.logs()
    );
    let tail = 1000 / SEND_EVERY.as_millis() as u64;
    assert!(
        gaps.iter().all(|(_, after)| *after + tail < sent),
        "a message was lost long after the last migration: gaps {gaps:?}"
    );
    let metrics = cluster.node(1).admin_get("/metrics").1;
    let resubscribed =
        herald_tests::metrics::sum_of(&metrics, "herald_backplane_resubscribed_total");
    eprintln!(
        "slot {slot} migrated {ROUNDS} times: {} of {sent} messages received, gaps {gaps:?}, {resubscribed} resubscriptions",
        received.len()
    );
    // Redis drops the slot's sharded subscriptions at every move (an `sunsubscribe` push).
    assert!(
        resubscribed >= ROUNDS as f64,
        "the node subscribed again {resubscribed} times after {ROUNDS} migrations ({gap_messages} messages missed)\n{}",
        cluster.logs()
    );
    cluster.assert_no_panic();
}
