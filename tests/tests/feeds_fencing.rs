//! Fencing: the owner of a lease is SIGSTOPped past the node TTL, so the coordinator moves the
//! lease; changes appended meanwhile are pushed by the new owner. When the old owner resumes,
//! its stale reader's checkpoint is refused (counted as `rejected`), and the lease's stored
//! checkpoint never goes backwards.

use herald_tests::feed_sandbox::{Lease, signal, stream_id};
use herald_tests::wait::{deadline_in, poll_until};
use herald_tests::{FeedSandbox, JsClient, JsOptions, RedisServer};
use std::collections::HashSet;
use std::time::Duration;

const HUB: &str = "orders";
const FEEDS: &str = r#"
[[feeds]]
name = "orders"
source = { kind = "redis-stream", partitions = 1 }
start_from = "beginning"
hub = "orders"
target = "orderChanged"
to = "all"
"#;
const REJECTED: &str = r#"herald_feed_checkpoints_total{feed="orders",result="rejected"}"#;

/// Watches the stored checkpoint of `orders/0`: panics if it ever goes backwards.
struct CheckpointWatch {
    last: Option<(u64, u64)>,
    seen: Vec<String>,
}

impl CheckpointWatch {
    fn observe(&mut self, table: &[Lease]) {
        let Some(checkpoint) = table[0].checkpoint.as_deref() else {
            assert!(
                self.last.is_none(),
                "checkpoint vanished after {:?}",
                self.seen
            );
            return;
        };
        let position = stream_id(checkpoint);
        if let Some(last) = self.last {
            assert!(
                position >= last,
                "stored checkpoint went backwards: {checkpoint} after {:?}",
                self.seen
            );
        }
        if self.last != Some(position) {
            self.seen.push(checkpoint.to_owned());
        }
        self.last = Some(position);
    }
}

/// Receives until the client has seen every key of `keys`.
fn receive_all(client: &mut JsClient, keys: &[String], seen: &mut HashSet<String>) {
    let deadline = deadline_in(20);
    while !keys.iter().all(|k| seen.contains(k)) {
        let event = poll_until(deadline, || {
            client.driver().next_event(Duration::from_millis(100))
        })
        .unwrap_or_else(|| panic!("missing some of {keys:?}; got {seen:?}"));
        if event["event"] == "message" {
            seen.insert(
                event["arguments"][1]["key"]
                    .as_str()
                    .expect("key")
                    .to_owned(),
            );
        }
    }
}

#[test]
fn a_resumed_stale_owner_is_fenced_off() {
    let redis = RedisServer::start();
    let mut sandbox = FeedSandbox::new(&redis.url(), FEEDS);
    sandbox.start_coordinator("c1");
    sandbox.start_node("n1");
    sandbox.start_node("n2");
    let table = sandbox.wait_for_table(&["c1"], 20, "orders/0 owned", |t| {
        t.len() == 1 && t[0].owner.is_some()
    });
    let old = table[0].owner.clone().expect("an owner");
    let new = if old == "n1" { "n2" } else { "n1" }.to_owned();
    let mut watch = CheckpointWatch {
        last: None,
        seen: Vec::new(),
    };

    let options = JsOptions::new(
        &sandbox.node(&new).client_url(HUB),
        Some(sandbox.client_token(HUB, "watcher")),
        &["orderChanged"],
    );
    let mut client = JsClient::connect(&options);
    let mut seen = HashSet::new();
    let mut producer = sandbox.producer();
    let key = sandbox.stream_key("orders", 0);
    let mut append = |from: u32, to: u32| -> Vec<(String, String)> {
        (from..to)
            .map(|id| {
                let position = producer.xadd(&key, &format!(r#"{{"id":{id}}}"#));
                (format!("{id}:{position}"), position)
            })
            .collect()
    };

    let first = append(0, 5);
    receive_all(
        &mut client,
        &first.iter().map(|(k, _)| k.clone()).collect::<Vec<_>>(),
        &mut seen,
    );
    let checkpointed = sandbox.wait_for_table(&["c1"], 10, "first batch checkpointed", |t| {
        watch.observe(t);
        t[0].checkpoint.as_deref() == Some(first[4].1.as_str())
    });
    let old_epoch = checkpointed[0].epoch;

    // Stop the owner while its reader waits on XREAD; what is appended now may reach the
    // frozen reader's socket, to be pushed (stale) when it resumes.
    let old_pid = sandbox.node(&old).pid();
    signal(old_pid, "STOP");
    let during = append(5, 10);
    sandbox.wait_for_table(&["c1"], 20, "lease moved to the live node", |t| {
        watch.observe(t);
        t[0].owner.as_deref() == Some(new.as_str()) && t[0].epoch > old_epoch
    });
    let after = append(10, 15);
    let all: Vec<String> = during
        .iter()
        .chain(&after)
        .map(|(k, _)| k.clone())
        .collect();
    receive_all(&mut client, &all, &mut seen);
    let last_position = after[4].1.clone();
    sandbox.wait_for_table(&["c1"], 10, "new owner checkpointed everything", |t| {
        watch.observe(t);
        t[0].checkpoint.as_deref() == Some(last_position.as_str())
    });
    assert_eq!(sandbox.node_metric(&old, REJECTED), 0.0);

    let stops_before = sandbox
        .node(&old)
        .log()
        .matches("stopped reading lease")
        .count();
    signal(old_pid, "CONT");
    // The stale reader must give the lease up: either its checkpoint is refused (counted as
    // rejected) or its pending read fails and the runner, seeing the moved lease, stops it.
    let mut rejected = 0.0;
    let fenced = poll_until(deadline_in(15), || {
        if let Some(table) = sandbox.leases("c1") {
            watch.observe(&table);
        }
        rejected = sandbox.node_metric(&old, REJECTED);
        let stops = sandbox
            .node(&old)
            .log()
            .matches("stopped reading lease")
            .count();
        (stops > stops_before).then_some(())
    });
    assert!(
        fenced.is_some(),
        "{old} resumed but kept reading the moved lease ({REJECTED} = {rejected})\n{}",
        sandbox.logs()
    );
    println!("stale owner's rejected checkpoints: {rejected}");
    // The refused checkpoint left the stored one where the new owner put it.
    let table = sandbox.leases("c1").expect("coordinator status");
    watch.observe(&table);
    assert_eq!(table[0].checkpoint.as_deref(), Some(last_position.as_str()));
    assert_eq!(table[0].owner.as_deref(), Some(new.as_str()));
    assert_eq!(
        sandbox.node_metric(&new, REJECTED),
        0.0,
        "the new owner's checkpoints are accepted"
    );
    println!("checkpoints seen: {:?}", watch.seen);
    sandbox.assert_no_panic();
}
