//! Fencing, with the stale write certain to happen: the lease owner is SIGSTOPped while its
//! handler call is in flight (the handler answers slowly), so when it resumes it holds an
//! answer for a batch whose lease has moved meanwhile. It pushes that batch (a duplicate the
//! dedupe key reveals), tries to checkpoint, is refused — counted as `rejected` — and stops
//! reading the lease; the stored checkpoint stays where the new owner put it.

use herald_tests::feed_sandbox::{signal, stream_id};
use herald_tests::upstream_server::UpstreamServer;
use herald_tests::wait::{deadline_in, poll_until};
use herald_tests::{FeedSandbox, JsClient, JsOptions, RedisServer, wait_until};
use serde_json::{Value, json};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

const HUB: &str = "orders";
const REJECTED: &str = r#"herald_feed_checkpoints_total{feed="orders",result="rejected"}"#;

#[test]
fn a_stale_owner_resuming_mid_batch_has_its_checkpoint_refused() {
    let redis = RedisServer::start();
    let slow = Arc::new(AtomicBool::new(false));
    let handler = {
        let slow = slow.clone();
        UpstreamServer::start(move |request| {
            if slow.swap(false, Ordering::SeqCst) {
                std::thread::sleep(Duration::from_secs(2));
            }
            let batch = request.json();
            let messages: Vec<Value> = batch["changes"]
                .as_array()
                .expect("changes")
                .iter()
                .map(|c| json!({"target": "orderChanged", "arguments": [c["document"], c["key"]]}))
                .collect();
            (
                200,
                "application/json",
                serde_json::to_vec(&messages).expect("json"),
            )
        })
    };
    let url = handler
        .url_template()
        .replace("{hub}/api/{category}/{event}", "orders");
    let feeds = format!(
        "[[feeds]]\nname = \"orders\"\nsource = {{ kind = \"redis-stream\", partitions = 1 }}\nstart_from = \"beginning\"\nhub = \"{HUB}\"\nhandler = \"{url}\"\n"
    );
    let mut sandbox = FeedSandbox::new(&redis.url(), &feeds).env("HERALD_UPSTREAM_TIMEOUT", "30s");
    sandbox.start_coordinator("c1");
    sandbox.start_node("n1");
    sandbox.start_node("n2");
    let table = sandbox.wait_for_table(&["c1"], 20, "orders/0 owned", |t| {
        t.len() == 1 && t[0].owner.is_some()
    });
    let old = table[0].owner.clone().expect("an owner");
    let new = if old == "n1" { "n2" } else { "n1" }.to_owned();
    let options = JsOptions::new(
        &sandbox.node(&new).client_url(HUB),
        Some(sandbox.client_token(HUB, "watcher")),
        &["orderChanged"],
    );
    let mut client = JsClient::connect(&options);
    let mut producer = sandbox.producer();
    let key = sandbox.stream_key("orders", 0);

    let p0 = producer.xadd(&key, r#"{"id":"a"}"#);
    assert_eq!(client.next_message()["arguments"][1], format!("a:{p0}"));
    let epoch = sandbox.wait_for_table(&["c1"], 10, "first change checkpointed", |t| {
        t[0].checkpoint.as_deref() == Some(p0.as_str())
    })[0]
        .epoch;

    // The next batch's handler call is slow; freeze the owner while it waits for the answer.
    slow.store(true, Ordering::SeqCst);
    let p1 = producer.xadd(&key, r#"{"id":"b"}"#);
    let in_flight = wait_until(deadline_in(10), || {
        handler
            .requests()
            .iter()
            .any(|r| r.json()["changes"][0]["position"] == p1.as_str())
    });
    assert!(in_flight, "the owner never called the handler for {p1}");
    let old_pid = sandbox.node(&old).pid();
    signal(old_pid, "STOP");

    // The lease moves; the new owner pushes b and checkpoints it.
    let moved = sandbox.wait_for_table(&["c1"], 20, "lease moved and b checkpointed", |t| {
        t[0].owner.as_deref() == Some(new.as_str())
            && t[0].epoch > epoch
            && t[0].checkpoint.as_deref() == Some(p1.as_str())
    });
    assert_eq!(client.next_message()["arguments"][1], format!("b:{p1}"));
    assert_eq!(sandbox.node_metric(&new, REJECTED), 0.0);

    // The old owner resumes holding the answer for b: it pushes it again (same dedupe key),
    // then its checkpoint is refused and it stops reading.
    signal(old_pid, "CONT");
    let refused = poll_until(deadline_in(15), || {
        (sandbox.node_metric(&old, REJECTED) >= 1.0).then_some(())
    });
    assert!(
        refused.is_some(),
        "the stale owner's checkpoint was not refused\n{}",
        sandbox.logs()
    );
    let replay = client.next_message();
    assert_eq!(
        replay["arguments"][1],
        format!("b:{p1}"),
        "the stale push is a duplicate"
    );
    let stopped = wait_until(deadline_in(10), || {
        sandbox.node(&old).log().contains("checkpoint refused")
    });
    assert!(stopped, "{}", sandbox.node(&old).log());

    // The stored checkpoint did not go back, and later changes come once, from the new owner.
    let p2 = producer.xadd(&key, r#"{"id":"c"}"#);
    assert_eq!(client.next_message()["arguments"][1], format!("c:{p2}"));
    let table = sandbox.wait_for_table(&["c1"], 10, "c checkpointed", |t| {
        t[0].checkpoint.as_deref() == Some(p2.as_str())
    });
    assert!(stream_id(table[0].checkpoint.as_deref().unwrap_or("0-0")) > stream_id(&p1));
    assert_eq!(table[0].epoch, moved[0].epoch, "no further move");
    assert!(
        client
            .driver()
            .next_event(Duration::from_millis(500))
            .is_none_or(|e| e["event"] != "message"),
        "nothing else arrives"
    );
    sandbox.assert_no_panic();
}
