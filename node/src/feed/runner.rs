//! Follows the lease table: starts a reader for every lease assigned to this node (with the
//! epoch it was assigned under), stops readers whose lease moved.
//!
//! The coordinator announces each change of assignments (a Redis publish in a cluster, a
//! watch cell in one process) and the runner re-reads the table at once; it also re-reads it
//! every second, so a missed announcement only delays convergence. At start, and until it
//! succeeds, the runner lists each source's partitions and creates the leases missing for them
//! (idempotent: every node does it); partitions that leases of the feed already cover, after
//! a split or merge, get none (see `ChangeSource::new_partitions`).

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use herald_coordinator::lease_table::LeaseTable;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::handler::FeedHandler;
use super::reader::{self, ReaderHandle, ReaderParts};
use super::sink::PushSink;
use super::source::ChangeSource;
use crate::config::FeedConfig;
use crate::metrics::Metrics;

/// How often the lease table is re-read without an announcement.
const POLL_INTERVAL: Duration = Duration::from_secs(1);

/// A feed with its source.
pub struct RunnerFeed {
    /// Routing rules.
    pub config: Arc<FeedConfig>,
    /// Where its changes come from.
    pub source: Arc<dyn ChangeSource>,
    /// Its user code, if configured.
    pub handler: Option<FeedHandler>,
}

/// What the runner works with, besides the feeds.
pub struct RunnerContext {
    /// This node's id: the owner named by its leases.
    pub node: String,
    /// The lease table.
    pub leases: Arc<dyn LeaseTable>,
    /// Where pushes go.
    pub sink: Arc<dyn PushSink>,
    /// Where to count.
    pub metrics: Metrics,
    /// Bumped when assignments change; `None` polls only.
    pub announcements: Option<watch::Receiver<u64>>,
}

/// A running runner.
pub struct RunnerHandle {
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl RunnerHandle {
    /// Stops every reader (each after its current push, without checkpointing what it did
    /// not finish) and waits for them.
    pub async fn stop(self) {
        self.stop.send_replace(true);
        let _ = self.task.await;
    }
}

/// Starts following the lease table.
pub fn spawn(context: RunnerContext, feeds: Vec<RunnerFeed>) -> RunnerHandle {
    let (stop, stopped) = watch::channel(false);
    let feeds: HashMap<String, RunnerFeed> = feeds
        .into_iter()
        .map(|f| (f.config.name.clone(), f))
        .collect();
    let task = tokio::spawn(run(context, feeds, stopped));
    RunnerHandle { stop, task }
}

async fn run(
    mut context: RunnerContext,
    feeds: HashMap<String, RunnerFeed>,
    mut stopped: watch::Receiver<bool>,
) {
    let mut readers: HashMap<String, ReaderHandle> = HashMap::new();
    let mut unlisted: HashSet<String> = feeds.keys().cloned().collect();
    let mut tick = tokio::time::interval(POLL_INTERVAL);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            Some(()) = announced(&mut context.announcements) => {}
            _ = stopped.changed() => break,
        }
        if !unlisted.is_empty() {
            ensure_leases(&context, &feeds, &mut unlisted).await;
        }
        let table = match context.leases.all().await {
            Ok(table) => table,
            Err(error) => {
                tracing::warn!(%error, "could not read the lease table; retrying");
                continue;
            }
        };
        let mine: HashMap<String, _> = table
            .into_iter()
            .filter(|l| l.owner.as_deref() == Some(context.node.as_str()))
            .map(|l| (l.id.clone(), l))
            .collect();
        readers.retain(|id, reader| {
            let keep =
                mine.get(id).is_some_and(|l| l.epoch == reader.epoch) && !reader.is_finished();
            if !keep {
                reader.stop();
            }
            keep
        });
        for (id, lease) in mine {
            if readers.contains_key(&id) {
                continue;
            }
            // Feed names have no '/', so the first one ends the name; a partition may hold any.
            let Some((name, partition)) = id.split_once('/') else {
                continue;
            };
            let Some(feed) = feeds.get(name) else {
                continue;
            };
            let parts = ReaderParts {
                feed: feed.config.clone(),
                partition: partition.to_owned(),
                lease: id.clone(),
                epoch: lease.epoch,
                checkpoint: lease.checkpoint.clone(),
                node: context.node.clone(),
                source: feed.source.clone(),
                leases: context.leases.clone(),
                sink: context.sink.clone(),
                handler: feed.handler.clone(),
                metrics: context.metrics.clone(),
            };
            readers.insert(id, reader::spawn(parts));
        }
        context.metrics.feed_leases(readers.len());
    }
    for (_, reader) in readers.drain() {
        reader.stopped().await;
    }
    context.metrics.feed_leases(0);
}

/// Resolves when the coordinator announced a change; never without announcements.
async fn announced(announcements: &mut Option<watch::Receiver<u64>>) -> Option<()> {
    match announcements {
        Some(rx) => match rx.changed().await {
            Ok(()) => Some(()),
            Err(_) => {
                // The announcer is gone: poll only.
                *announcements = None;
                None
            }
        },
        None => std::future::pending().await,
    }
}

/// Lists the partitions of the feeds in `unlisted` and creates their leases; a feed whose
/// source or lease table fails stays in `unlisted` for the next tick.
async fn ensure_leases(
    context: &RunnerContext,
    feeds: &HashMap<String, RunnerFeed>,
    unlisted: &mut HashSet<String>,
) {
    let names: Vec<String> = unlisted.iter().cloned().collect();
    for name in names {
        let Some(feed) = feeds.get(&name) else {
            unlisted.remove(&name);
            continue;
        };
        let partitions = match feed.source.partitions().await {
            Ok(partitions) => partitions,
            Err(error) => {
                tracing::warn!(feed = %name, %error, "could not list the feed's partitions; retrying");
                continue;
            }
        };
        let table = match context.leases.all().await {
            Ok(table) => table,
            Err(error) => {
                tracing::warn!(feed = %name, %error, "could not read the lease table; retrying");
                continue;
            }
        };
        let prefix = format!("{name}/");
        let existing: Vec<String> = table
            .iter()
            .filter_map(|l| l.id.strip_prefix(&prefix).map(str::to_owned))
            .collect();
        let ids: Vec<String> = feed
            .source
            .new_partitions(&existing, &partitions)
            .iter()
            .map(|p| format!("{name}/{p}"))
            .collect();
        match context.leases.ensure(&ids).await {
            Ok(()) => {
                tracing::info!(feed = %name, partitions = partitions.len(), existing = existing.len(), created = ids.len(), "feed leases ensured");
                unlisted.remove(&name);
            }
            Err(error) => {
                tracing::warn!(feed = %name, %error, "could not create the feed's leases; retrying")
            }
        }
    }
}

/// The lease ids of the `redis-stream` feeds among `feeds` (`<feed>/<partition>`), known from
/// configuration alone; a coordinator creates them before any node has started.
pub fn lease_ids(feeds: &[FeedConfig]) -> Vec<String> {
    let mut ids = Vec::new();
    for feed in feeds {
        if let crate::config::FeedSource::RedisStream { partitions } = feed.source {
            ids.extend((0..partitions).map(|p| format!("{}/{p}", feed.name)));
        }
    }
    ids
}
