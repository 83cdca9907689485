//! One reader per lease this node owns: reads a partition from its checkpoint, routes each
//! change, pushes it (to local recipients and through the backplane), and only then writes the
//! checkpoint — compare-and-set on the lease epoch, so a node that lost the lease (paused,
//! partitioned) is refused and stops. Delivery is at-least-once; every push carries a dedupe key.

use std::sync::Arc;
use std::time::{Duration, Instant};

use herald_coordinator::lease_store::LeaseStore;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::route::route;
use super::source::ChangeSource;
use crate::backplane::redis::CommandConnection;
use crate::config::FeedConfig;
use crate::http::AppState;
use crate::session::link::Payload;

/// How long one read waits for new changes before looping (and noticing a stop).
const READ_WAIT: Duration = Duration::from_millis(500);
/// How often a reader reports how far behind its partition it is.
const LAG_INTERVAL: Duration = Duration::from_secs(2);
/// Pause after a failed read or checkpoint, so a broken source is not hammered.
const RETRY_DELAY: Duration = Duration::from_secs(1);

/// What a reader needs.
pub struct ReaderParts {
    /// The feed's routing rules.
    pub feed: Arc<FeedConfig>,
    /// The partition this lease covers.
    pub partition: u32,
    /// `<feed>/<partition>`.
    pub lease: String,
    /// The epoch the lease was assigned with; checkpoints are fenced by it.
    pub epoch: u64,
    /// Where to resume.
    pub checkpoint: Option<String>,
    /// This node's id (the lease owner).
    pub node: String,
    /// Where changes come from.
    pub source: Arc<dyn ChangeSource>,
    /// Where checkpoints go.
    pub leases: LeaseStore<CommandConnection>,
    /// Hubs, cluster and metrics for pushing.
    pub state: AppState,
}

/// A running reader.
pub struct ReaderHandle {
    /// The epoch it reads under.
    pub epoch: u64,
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl ReaderHandle {
    /// Whether the reader has ended (it lost its lease, or was stopped).
    pub fn is_finished(&self) -> bool {
        self.task.is_finished()
    }

    /// Asks the reader to stop after its current batch.
    pub fn stop(&self) {
        self.stop.send_replace(true);
    }
}

/// Starts a reader.
pub fn spawn(parts: ReaderParts) -> ReaderHandle {
    let (stop, stopped) = watch::channel(false);
    let epoch = parts.epoch;
    let task = tokio::spawn(run(parts, stopped));
    ReaderHandle { epoch, stop, task }
}

async fn run(mut parts: ReaderParts, mut stopped: watch::Receiver<bool>) {
    let feed = parts.feed.clone();
    tracing::info!(lease = %parts.lease, epoch = parts.epoch, checkpoint = ?parts.checkpoint, "reading lease");
    let metrics = parts.state.metrics.clone();
    let mut last_lag = Instant::now()
        .checked_sub(LAG_INTERVAL)
        .unwrap_or_else(Instant::now);
    loop {
        if *stopped.borrow() {
            break;
        }
        let read = parts.source.read(
            parts.partition,
            parts.checkpoint.as_deref(),
            &feed.start_from,
            feed.batch_size,
            READ_WAIT,
        );
        let batch = tokio::select! {
            batch = read => batch,
            _ = stopped.changed() => break,
        };
        let batch = match batch {
            Ok(batch) => batch,
            Err(error) => {
                tracing::warn!(lease = %parts.lease, %error, "could not read the change feed; retrying");
                if wait_or_stop(&mut stopped).await {
                    break;
                }
                continue;
            }
        };
        for change in &batch.changes {
            let document = match &change.document {
                Ok(document) => document,
                Err(why) => {
                    metrics.feed_change(&feed.name, "bad_document");
                    tracing::warn!(lease = %parts.lease, position = %change.position, %why, "skipping a change that is not a JSON document");
                    continue;
                }
            };
            match route(&feed, parts.partition, &change.position, document) {
                Ok(routed) => {
                    let payload = Payload::invocation(&routed.target, &routed.arguments);
                    // Retried until pushed: nothing is checkpointed past a change that was not.
                    loop {
                        let scope = routed.scope.clone();
                        let sent = crate::http::rest::ops::send(
                            &parts.state,
                            &feed.hub,
                            scope,
                            Vec::new(),
                            payload.clone(),
                        );
                        match sent.await {
                            Ok(_) => {
                                metrics.feed_change(&feed.name, "pushed");
                                break;
                            }
                            Err(error) => {
                                tracing::warn!(lease = %parts.lease, position = %change.position, %error, "could not push a change; retrying");
                                if wait_or_stop(&mut stopped).await {
                                    return;
                                }
                            }
                        }
                    }
                }
                Err(error) => {
                    metrics.feed_change(&feed.name, "unroutable");
                    tracing::warn!(lease = %parts.lease, %error, "skipping a change that cannot be routed");
                }
            }
        }
        if last_lag.elapsed() >= LAG_INTERVAL {
            last_lag = Instant::now();
            let position = batch
                .next_checkpoint
                .as_deref()
                .or(parts.checkpoint.as_deref());
            if let Ok(lag) = parts.source.lag(parts.partition, position).await {
                metrics.feed_lag(&feed.name, parts.partition, lag);
            }
        }
        let Some(next) = batch.next_checkpoint else {
            continue;
        };
        if parts.checkpoint.as_deref() == Some(next.as_str()) {
            continue;
        }
        match parts
            .leases
            .checkpoint(&parts.lease, &parts.node, parts.epoch, &next)
            .await
        {
            Ok(true) => {
                metrics.feed_checkpoint(&feed.name, true);
                parts.checkpoint = Some(next);
            }
            Ok(false) => {
                metrics.feed_checkpoint(&feed.name, false);
                tracing::info!(lease = %parts.lease, epoch = parts.epoch, "checkpoint refused: the lease moved to another node; stopping");
                return;
            }
            Err(error) => {
                // The batch was pushed; keep reading after it and write the checkpoint later.
                tracing::warn!(lease = %parts.lease, %error, "could not write the checkpoint; will retry with the next batch");
                parts.checkpoint = Some(next);
            }
        }
    }
    tracing::info!(lease = %parts.lease, "stopped reading lease");
}

/// Waits the retry delay; `true` when asked to stop meanwhile.
async fn wait_or_stop(stopped: &mut watch::Receiver<bool>) -> bool {
    tokio::select! {
        () = tokio::time::sleep(RETRY_DELAY) => false,
        _ = stopped.changed() => true,
    }
}
