//! Sharded pub/sub against a local three-master Redis Cluster: channels on every master are
//! delivered, and after every client connection is killed the backplane rebuilds its cluster
//! connection and subscribes again.

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use tokio::sync::mpsc;

use super::fixture::RedisCluster;
use super::tests::{node, node_counting, recv, wait_link};
use super::{BackplaneCounters, RedisBackplane};
use crate::backplane::{Backplane, Incoming};

/// Longest wait for a subscription to take effect.
const DEADLINE: Duration = Duration::from_secs(10);

/// Publishes probes on `channel` until one arrives (the subscription is then live); other
/// channels' leftover probes are skipped.
async fn wait_live(a: &RedisBackplane, b_rx: &mut mpsc::Receiver<Incoming>, channel: &str) {
    let deadline = Instant::now() + DEADLINE;
    loop {
        a.publish(channel, Bytes::from_static(b"probe"));
        if let Ok(Some(m)) = tokio::time::timeout(Duration::from_millis(100), b_rx.recv()).await
            && m.channel == channel
        {
            return;
        }
        assert!(Instant::now() < deadline, "{channel} never became live");
    }
}

/// Receives until `payload` has arrived on each of `channels`, skipping probes.
async fn expect_each(b_rx: &mut mpsc::Receiver<Incoming>, channels: &[String], payload: &str) {
    let mut missing: HashSet<&str> = channels.iter().map(String::as_str).collect();
    while !missing.is_empty() {
        let (channel, got) = recv(b_rx).await;
        if got == payload {
            missing.remove(channel.as_str());
        }
    }
}

#[tokio::test]
async fn sharded_channels_on_every_master_are_delivered_and_survive_killed_connections() {
    let cluster = RedisCluster::start().await;
    let (a, _) = node(&cluster.url(), 1 << 20);
    let reconnects = Arc::new(AtomicU64::new(0));
    let counters = BackplaneCounters {
        reconnects: metrics::Counter::from_arc(reconnects.clone()),
        ..BackplaneCounters::noop()
    };
    let (b, mut b_rx) = node_counting(&cluster.url(), 1 << 20, counters);
    // Slots 0..5460, 5461..10922 and 10923..16383 belong to the three masters.
    let channels: Vec<String> = (0..12).map(|n| format!("shard-{n}")).collect();
    let slots: HashSet<u16> = channels
        .iter()
        .map(|c| {
            cluster.nodes[0]
                .cli(&["cluster", "keyslot", c])
                .trim()
                .parse::<u16>()
                .expect("a slot")
                / 5461
        })
        .collect();
    assert_eq!(slots.len(), 3, "the channels cover every master");
    for channel in &channels {
        b.subscribe(channel);
    }
    wait_link(&a, true).await;
    for channel in &channels {
        wait_live(&a, &mut b_rx, channel).await;
    }
    for channel in &channels {
        a.publish(channel, Bytes::from_static(b"first"));
    }
    expect_each(&mut b_rx, &channels, "first").await;

    for server in &cluster.nodes {
        server.cli(&["client", "kill", "type", "pubsub"]);
        server.cli(&["client", "kill", "type", "normal"]);
    }
    let deadline = Instant::now() + DEADLINE;
    while reconnects.load(Ordering::Relaxed) == 0 {
        assert!(
            Instant::now() < deadline,
            "the killed connection was never rebuilt"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    for channel in &channels {
        wait_live(&a, &mut b_rx, channel).await;
    }
    for channel in &channels {
        a.publish(channel, Bytes::from_static(b"second"));
    }
    expect_each(&mut b_rx, &channels, "second").await;
}
