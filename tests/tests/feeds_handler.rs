//! A handler feed: user code (a small HTTP server started by the test, like an Azure Function
//! with a SignalR output binding) receives each batch, signed with the access key, and
//! answers with the messages to send, choosing recipients per change. It is made to fail for
//! a while mid-stream — with errors and with malformed answers — and still no change is lost:
//! the lease's lag rises while it fails and falls back to zero once it answers again.

use herald_tests::metrics::sample;
use herald_tests::upstream_server::{Reply, UpstreamRequest, UpstreamServer};
use herald_tests::wait::deadline_in;
use herald_tests::{FeedSandbox, JsClient, JsOptions, RedisServer, wait_until};
use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha256;
use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

const HUB: &str = "trades";
const PARTITIONS: u32 = 2;
const BEFORE: u64 = 100;
const DURING: u64 = 200;
const AFTER: u64 = 100;

/// What the handler does with one request: check the signature, then route each change to
/// the user the document names, or fail while `failing` is set.
fn answer(request: &UpstreamRequest, key: &str, failing: &AtomicBool, calls: &AtomicU64) -> Reply {
    let n = calls.fetch_add(1, Ordering::SeqCst);
    let mut mac = Hmac::<Sha256>::new_from_slice(key.as_bytes()).expect("hmac key");
    mac.update(&request.body);
    let expected: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect();
    let signature = request.header("x-herald-signature").unwrap_or_default();
    if signature != format!("sha256={expected}") {
        return (401, "text/plain", b"bad signature".to_vec());
    }
    if failing.load(Ordering::SeqCst) {
        return if n.is_multiple_of(2) {
            (
                503,
                "text/plain",
                b"handler is down for maintenance".to_vec(),
            )
        } else {
            (200, "application/json", br#"{"oops":true}"#.to_vec())
        };
    }
    let batch = request.json();
    let messages: Vec<Value> = batch["changes"]
        .as_array()
        .expect("changes")
        .iter()
        .map(|change| {
            let document = &change["document"];
            json!({
                "target": "trade",
                "arguments": [document["seq"], change["key"], batch["partition"]],
                "to": { "user": document["user"] },
            })
        })
        .collect();
    (
        200,
        "application/json",
        serde_json::to_vec(&messages).expect("json"),
    )
}

fn lag(sandbox: &FeedSandbox) -> f64 {
    let mut total = 0.0;
    for node in ["n1", "n2"] {
        let metrics = sandbox.node(node).admin_get("/metrics").1;
        for partition in 0..PARTITIONS {
            let series = format!("herald_feed_lag{{feed=\"trades\",partition=\"{partition}\"}}");
            total += sample(&metrics, &series).unwrap_or(0.0);
        }
    }
    total
}

fn metric(sandbox: &FeedSandbox, series: &str) -> f64 {
    sandbox.node_metric("n1", series) + sandbox.node_metric("n2", series)
}

/// Receives `trade` messages until `expected` distinct sequence numbers arrived; returns
/// them and the number of duplicates.
fn receive(client: &mut JsClient, expected: usize) -> (BTreeSet<u64>, usize) {
    let mut seen = BTreeSet::new();
    let mut duplicates = 0;
    while seen.len() < expected {
        let message = client.next_message();
        assert_eq!(message["target"], "trade", "{message}");
        let seq = message["arguments"][0].as_u64().expect("seq");
        if !seen.insert(seq) {
            duplicates += 1;
        }
    }
    (seen, duplicates)
}

#[test]
fn a_failing_handler_delays_changes_but_loses_none() {
    let redis = RedisServer::start();
    let failing = Arc::new(AtomicBool::new(false));
    let calls = Arc::new(AtomicU64::new(0));
    // The key is known only once the sandbox exists; the handler reads it from here.
    let key = Arc::new(std::sync::OnceLock::<String>::new());
    let handler = {
        let (failing, calls, key) = (failing.clone(), calls.clone(), key.clone());
        UpstreamServer::start(move |request| {
            answer(
                request,
                key.get().map_or("", String::as_str),
                &failing,
                &calls,
            )
        })
    };
    let url = handler
        .url_template()
        .replace("{hub}/api/{category}/{event}", "api/trades");
    let feeds = format!(
        "[[feeds]]\nname = \"trades\"\nsource = {{ kind = \"redis-stream\", partitions = {PARTITIONS} }}\nstart_from = \"beginning\"\nhub = \"{HUB}\"\nhandler = \"{url}?code=secret\"\nbatch_size = 10\n"
    );
    let mut sandbox = FeedSandbox::new(&redis.url(), &feeds);
    key.set(sandbox.access_key().to_owned()).expect("set once");
    sandbox.start_coordinator("c1");
    sandbox.start_node("n1");
    sandbox.start_node("n2");
    sandbox.wait_for_table(&["c1"], 20, "every lease owned", |t| {
        t.len() == PARTITIONS as usize && t.iter().all(|l| l.owner.is_some())
    });

    let connect = |node: &str, user: &str| {
        let options = JsOptions::new(
            &sandbox.node(node).client_url(HUB),
            Some(sandbox.client_token(HUB, user)),
            &["trade"],
        );
        JsClient::connect(&options)
    };
    let mut alice = connect("n1", "alice");
    let mut bob = connect("n2", "bob");

    let mut producer = sandbox.producer();
    let mut produce = |from: u64, to: u64| {
        for seq in from..to {
            let user = if seq % 3 == 0 { "bob" } else { "alice" };
            let partition = (seq % u64::from(PARTITIONS)) as u32;
            producer.xadd(
                &sandbox.stream_key("trades", partition),
                &format!(r#"{{"id":"t{seq}","seq":{seq},"user":"{user}"}}"#),
            );
        }
    };

    produce(0, BEFORE);
    let delivered = wait_until(deadline_in(20), || {
        lag(&sandbox) == 0.0 && calls.load(Ordering::SeqCst) > 0
    });
    assert!(
        delivered,
        "the first changes were not consumed\n{}",
        sandbox.logs()
    );

    failing.store(true, Ordering::SeqCst);
    produce(BEFORE, BEFORE + DURING);
    let rose = wait_until(deadline_in(20), || lag(&sandbox) >= 50.0);
    assert!(
        rose,
        "the lag did not rise while the handler failed (lag {})\n{}",
        lag(&sandbox),
        sandbox.logs()
    );
    let failures_seen = wait_until(deadline_in(20), || {
        metric(
            &sandbox,
            "herald_feed_handler_calls_total{feed=\"trades\",outcome=\"status\"}",
        ) > 0.0
            && metric(
                &sandbox,
                "herald_feed_handler_calls_total{feed=\"trades\",outcome=\"malformed\"}",
            ) > 0.0
    });
    assert!(
        failures_seen,
        "failed calls were not counted\n{}",
        sandbox.logs()
    );

    failing.store(false, Ordering::SeqCst);
    produce(BEFORE + DURING, BEFORE + DURING + AFTER);
    let fell = wait_until(deadline_in(60), || lag(&sandbox) == 0.0);
    assert!(
        fell,
        "the lag did not fall back to 0 (lag {})\n{}",
        lag(&sandbox),
        sandbox.logs()
    );

    let total = BEFORE + DURING + AFTER;
    let for_bob: BTreeSet<u64> = (0..total).filter(|s| s % 3 == 0).collect();
    let for_alice: BTreeSet<u64> = (0..total).filter(|s| s % 3 != 0).collect();
    let (alice_got, alice_dups) = receive(&mut alice, for_alice.len());
    let (bob_got, bob_dups) = receive(&mut bob, for_bob.len());
    assert_eq!(alice_got, for_alice, "alice got exactly her changes");
    assert_eq!(bob_got, for_bob, "bob got exactly his changes");
    assert_eq!(
        (alice_dups, bob_dups),
        (0, 0),
        "no lease moved, so nothing is replayed"
    );

    // The malformed answer is quoted in the log of the node that called.
    let logs = format!("{}{}", sandbox.node("n1").log(), sandbox.node("n2").log());
    assert!(logs.contains("not a list of messages"), "{logs}");
    assert!(logs.contains("oops"), "the answer is quoted");
    assert!(
        !logs.contains("code=secret"),
        "the function key stays out of the logs"
    );
    sandbox.assert_no_panic();
}
