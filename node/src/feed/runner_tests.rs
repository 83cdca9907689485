//! Feed runners of three in-process nodes sharing one embedded coordinator, one in-memory lease
//! table and one embedded Cosmos DB container with 4 feed ranges: every change reaches the
//! pushes exactly once in normal operation, at least once across a lease move, and a node that
//! restarts resumes from the checkpoints instead of replaying from the beginning.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::FutureExt;
use futures_util::future::BoxFuture;
use herald_coordinator::embedded::{EmbeddedCoordinator, EmbeddedHandle};
use herald_coordinator::memory_leases::MemoryLeaseTable;
use serde_json::json;

use super::cosmos::{CosmosSource, EmbeddedContainer, EmbeddedCosmos};
use super::runner::{self, RunnerContext, RunnerFeed, RunnerHandle};
use super::sink::{FeedPush, PushSink};
use crate::config::{CosmosAccount, DEFAULT_BATCH_SIZE, FeedConfig, FeedSource, Route, StartFrom};
use crate::metrics::Metrics;

/// Every push of every node, with the node that sent it.
#[derive(Default)]
struct Recorder {
    pushes: Mutex<Vec<(String, FeedPush)>>,
}

impl Recorder {
    /// Dedupe key → how many times it was pushed.
    fn counts(&self) -> BTreeMap<String, usize> {
        let mut counts = BTreeMap::new();
        for (_, push) in self.pushes.lock().unwrap().iter() {
            let key = push.arguments[1]["key"]
                .as_str()
                .unwrap_or_default()
                .to_owned();
            *counts.entry(key).or_default() += 1;
        }
        counts
    }

    /// The symbols pushed (each document's `symbol`), with repetitions.
    fn symbols(&self) -> Vec<String> {
        self.pushes
            .lock()
            .unwrap()
            .iter()
            .map(|(_, p)| {
                p.arguments[0]["symbol"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned()
            })
            .collect()
    }

    fn nodes(&self) -> std::collections::BTreeSet<String> {
        self.pushes
            .lock()
            .unwrap()
            .iter()
            .map(|(n, _)| n.clone())
            .collect()
    }
}

struct NodeSink {
    node: String,
    recorder: Arc<Recorder>,
}

impl PushSink for NodeSink {
    fn push(&self, push: FeedPush) -> BoxFuture<'_, Result<(), String>> {
        self.recorder
            .pushes
            .lock()
            .unwrap()
            .push((self.node.clone(), push));
        futures_util::future::ready(Ok(())).boxed()
    }
}

fn feed() -> FeedConfig {
    FeedConfig {
        name: "stocks".to_owned(),
        source: FeedSource::Cosmos {
            database: "demo".to_owned(),
            container: "stocks".to_owned(),
            account: CosmosAccount::Embedded,
            poll_delay: Duration::from_millis(100),
        },
        start_from: StartFrom::Beginning,
        hub: "stocks".parse().unwrap(),
        target: Some("stockUpdated".to_owned()),
        to: Route::All,
        project: None,
        handler: None,
        batch_size: DEFAULT_BATCH_SIZE,
    }
}

struct Cluster {
    account: EmbeddedCosmos,
    coordinator: EmbeddedHandle,
    table: Arc<MemoryLeaseTable>,
    container: EmbeddedContainer,
    recorder: Arc<Recorder>,
}

impl Cluster {
    async fn start() -> Self {
        let account = EmbeddedCosmos::start().await.unwrap();
        let container = account
            .create_container("demo", "stocks", "/symbol", 4)
            .await
            .unwrap();
        let table = Arc::new(MemoryLeaseTable::new());
        let coordinator = EmbeddedCoordinator::spawn(table.clone(), Duration::from_millis(50));
        Self {
            account,
            coordinator,
            table,
            container,
            recorder: Arc::new(Recorder::default()),
        }
    }

    async fn node(&self, id: &str) -> RunnerHandle {
        self.coordinator.join(id).await;
        let source = CosmosSource::new(
            self.container.client().clone(),
            "stocks",
            Duration::from_millis(100),
            "check",
        );
        let context = RunnerContext {
            node: id.to_owned(),
            leases: self.table.clone(),
            sink: Arc::new(NodeSink {
                node: id.to_owned(),
                recorder: self.recorder.clone(),
            }),
            metrics: Metrics::new(),
            announcements: Some(self.coordinator.announcements()),
        };
        let feed = RunnerFeed {
            config: Arc::new(feed()),
            source: Arc::new(source),
            handler: None,
        };
        runner::spawn(context, vec![feed])
    }

    /// Stops node `id` as a drain does: its leases go first, then its readers stop.
    async fn stop(&self, id: &str, node: RunnerHandle) {
        self.coordinator.drain(id).await;
        node.stop().await;
        self.coordinator.leave(id).await;
    }

    /// Writes `n` documents spread over 16 partition keys, starting at `from`. Each is new:
    /// latest-version mode would fold several updates of one document into its last one.
    async fn write(&self, from: u32, n: u32) {
        for i in from..from + n {
            let symbol = format!("S{:02}", i % 16);
            self.container
                .upsert(json!({"id": format!("d{i}"), "symbol": symbol, "price": i}))
                .await
                .unwrap();
        }
    }

    /// Waits until `expected` distinct keys were pushed.
    async fn until_keys(&self, expected: usize, what: &str) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while self.recorder.counts().len() < expected {
            assert!(
                Instant::now() < deadline,
                "{what}: {} of {expected} changes pushed",
                self.recorder.counts().len()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    fn owners(&self) -> BTreeMap<String, usize> {
        let mut owners = BTreeMap::new();
        for lease in self.table.all() {
            *owners.entry(lease.owner.unwrap_or_default()).or_default() += 1;
        }
        owners
    }
}

#[actix::test]
async fn three_nodes_share_four_feed_ranges_and_lose_nothing() {
    let cluster = Cluster::start().await;
    let a = cluster.node("a").await;
    let b = cluster.node("b").await;
    let c = cluster.node("c").await;
    let deadline = Instant::now() + Duration::from_secs(10);
    while cluster.owners().len() != 3 || cluster.owners().contains_key("") {
        assert!(
            Instant::now() < deadline,
            "4 leases over 3 nodes: {:?}",
            cluster.owners()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    // Normal operation: exactly once, from every node.
    cluster.write(0, 64).await;
    cluster.until_keys(64, "first writes").await;
    let counts = cluster.recorder.counts();
    assert!(counts.values().all(|n| *n == 1), "duplicates: {counts:?}");
    assert_eq!(
        cluster.recorder.nodes().len(),
        3,
        "every node pushed its ranges' changes"
    );

    // A lease move (c drains): at least once.
    cluster.stop("c", c).await;
    assert!(
        !cluster.owners().contains_key("c"),
        "{:?}",
        cluster.owners()
    );
    cluster.write(64, 64).await;
    cluster.until_keys(128, "writes after c left").await;

    // A restart of a: it resumes from the checkpoints, nothing is replayed.
    let before = cluster.recorder.counts();
    cluster.stop("a", a).await;
    let a = cluster.node("a").await;
    cluster.write(128, 64).await;
    cluster.until_keys(192, "writes after a restarted").await;
    tokio::time::sleep(Duration::from_millis(300)).await; // let any replay show up
    let after = cluster.recorder.counts();
    for (key, n) in &before {
        assert_eq!(after[key], *n, "{key} was pushed again after the restart");
    }
    assert!(
        after.values().all(|n| *n == 1),
        "no change is pushed twice here: {after:?}"
    );
    let symbols = cluster.recorder.symbols();
    assert_eq!(symbols.len(), 192);
    cluster.stop("a", a).await;
    cluster.stop("b", b).await;
}

#[actix::test]
async fn a_split_feed_range_hands_its_lease_to_its_children_without_loss() {
    let cluster = Cluster::start().await;
    let a = cluster.node("a").await;
    cluster.write(0, 64).await;
    cluster.until_keys(64, "writes before the split").await;
    let parent = cluster.table.all()[0].id.clone();
    let (_, range) = parent.split_once('/').expect("feed/partition");
    let children = cluster
        .account
        .split("demo", "stocks", range)
        .await
        .expect("the emulator splits the range");
    assert_eq!(children.len(), 2, "{children:?}");
    cluster.write(64, 64).await;
    cluster.until_keys(128, "writes after the split").await;
    let ids: Vec<String> = cluster.table.all().into_iter().map(|l| l.id).collect();
    assert!(
        !ids.contains(&parent),
        "the split lease is replaced: {ids:?}"
    );
    for child in &children {
        assert!(
            ids.contains(&format!("stocks/{child}")),
            "{child} has a lease: {ids:?}"
        );
    }
    let counts = cluster.recorder.counts();
    assert!(
        counts.values().all(|n| *n == 1),
        "the children continue from the parent's checkpoint, nothing twice: {counts:?}"
    );
    cluster.stop("a", a).await;
}
