//! One reader per lease this node owns: reads a partition from its checkpoint, turns each
//! batch into pushes (the declarative route, the handler, or both), sends them, and only then
//! writes the checkpoint — compare-and-set on the lease epoch, so a node that lost the lease
//! (paused, partitioned) is refused and stops. Delivery is at-least-once; every push carries
//! a dedupe key.
//!
//! Nothing is skipped except what can never be sent (a change that is not JSON, or that the
//! route cannot address), and that is counted and logged with its position. A push, a read or
//! a handler call that fails is retried — the lease's lag grows meanwhile, which is what the
//! `herald_feed_lag` gauge shows.

use std::sync::Arc;
use std::time::{Duration, Instant};

use herald_coordinator::lease_table::LeaseTable;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::handler::{FeedHandler, HandlerChange};
use super::route::{dedupe_key, route};
use super::sink::{FeedPush, PushSink};
use super::source::{Batch, ChangeSource, SourceError};
use crate::config::FeedConfig;
use crate::metrics::Metrics;
use crate::telemetry::spans;
use tracing::Instrument as _;

/// How long one read waits for new changes before looping (and noticing a stop).
const READ_WAIT: Duration = Duration::from_millis(500);
/// How often a reader reports how far behind its partition it is.
const LAG_INTERVAL: Duration = Duration::from_secs(2);
/// Pause after a failed read, push or checkpoint, so a broken dependency is not hammered.
const RETRY_DELAY: Duration = Duration::from_secs(1);
/// First pause after a failed handler call; doubled per failure up to [`HANDLER_BACKOFF_MAX`].
const HANDLER_BACKOFF_MIN: Duration = Duration::from_millis(250);
/// Longest pause between handler calls.
const HANDLER_BACKOFF_MAX: Duration = Duration::from_secs(30);

/// What a reader needs.
pub struct ReaderParts {
    /// The feed's routing rules.
    pub feed: Arc<FeedConfig>,
    /// The partition this lease covers.
    pub partition: String,
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
    pub leases: Arc<dyn LeaseTable>,
    /// Where pushes go.
    pub sink: Arc<dyn PushSink>,
    /// The feed's user code, if any.
    pub handler: Option<FeedHandler>,
    /// Where to count.
    pub metrics: Metrics,
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

    /// Asks the reader to stop after its current push.
    pub fn stop(&self) {
        self.stop.send_replace(true);
    }

    /// Stops the reader and waits until it has.
    pub async fn stopped(self) {
        self.stop();
        let _ = self.task.await;
    }
}

/// Starts a reader.
pub fn spawn(parts: ReaderParts) -> ReaderHandle {
    let (stop, stopped) = watch::channel(false);
    let epoch = parts.epoch;
    let reader = Reader {
        parts,
        stopped,
        last_lag: None,
    };
    let task = tokio::spawn(reader.run());
    ReaderHandle { epoch, stop, task }
}

/// Why delivering a batch ended early.
enum Interrupted {
    /// Asked to stop: leave without checkpointing.
    Stopped,
}

struct Reader {
    parts: ReaderParts,
    stopped: watch::Receiver<bool>,
    last_lag: Option<Instant>,
}

impl Reader {
    async fn run(mut self) {
        let lease = self.parts.lease.clone();
        tracing::info!(%lease, epoch = self.parts.epoch, checkpoint = ?self.parts.checkpoint, "reading lease");
        self.read_loop().await;
        tracing::info!(%lease, "stopped reading lease");
    }

    async fn read_loop(&mut self) {
        let feed = self.parts.feed.clone();
        loop {
            if *self.stopped.borrow() {
                return;
            }
            let read = self.parts.source.read(
                &self.parts.partition,
                self.parts.checkpoint.as_deref(),
                &feed.start_from,
                feed.batch_size,
                READ_WAIT,
            );
            let batch = tokio::select! {
                batch = read => batch,
                _ = self.stopped.changed() => return,
            };
            let batch = match batch {
                Ok(batch) => batch,
                Err(SourceError::Replaced { successors, .. }) => {
                    self.hand_over(&successors).await;
                    return;
                }
                Err(error) => {
                    self.parts.metrics.feed_read_error(&feed.name, error.kind());
                    tracing::warn!(lease = %self.parts.lease, %error, "could not read the change feed; retrying");
                    if self.pause(RETRY_DELAY).await {
                        return;
                    }
                    continue;
                }
            };
            if !batch.changes.is_empty() {
                self.parts
                    .metrics
                    .feed_batch(&feed.name, &self.parts.partition);
                let span = spans::feed_batch(
                    &feed.name,
                    &self.parts.partition,
                    batch.changes.len(),
                    batch.changes.first().map_or("", |c| c.position.as_str()),
                    batch.changes.last().map_or("", |c| c.position.as_str()),
                );
                if let Err(Interrupted::Stopped) = self.deliver(&batch).instrument(span).await {
                    return;
                }
            }
            let position = batch
                .next_checkpoint
                .clone()
                .or_else(|| self.parts.checkpoint.clone());
            self.report_lag(position.as_deref()).await;
            let Some(next) = batch.next_checkpoint else {
                continue;
            };
            if self.parts.checkpoint.as_deref() == Some(next.as_str()) {
                continue;
            }
            if !self.write_checkpoint(next).await {
                return;
            }
        }
    }

    /// Sends what `batch` turns into: the declarative route's pushes, then the handler's.
    async fn deliver(&mut self, batch: &Batch) -> Result<(), Interrupted> {
        let feed = self.parts.feed.clone();
        let mut documents = Vec::with_capacity(batch.changes.len());
        for change in &batch.changes {
            match &change.document {
                Ok(document) => documents.push((change.position.as_str(), document)),
                Err(why) => {
                    self.parts.metrics.feed_change(&feed.name, "bad_document");
                    tracing::warn!(lease = %self.parts.lease, position = %change.position, %why, "skipping a change that is not a JSON document");
                }
            }
        }
        if let Some(target) = &feed.target {
            for (position, document) in &documents {
                match route(&feed, target, &self.parts.partition, position, document) {
                    Ok(routed) => {
                        let push = FeedPush {
                            hub: feed.hub.clone(),
                            scope: routed.scope,
                            target: routed.target,
                            arguments: routed.arguments,
                        };
                        self.push(push, position).await?;
                        self.parts.metrics.feed_change(&feed.name, "pushed");
                    }
                    Err(error) => {
                        self.parts.metrics.feed_change(&feed.name, "unroutable");
                        tracing::warn!(lease = %self.parts.lease, %error, "skipping a change that cannot be routed");
                    }
                }
            }
        }
        if let Some(handler) = self.parts.handler.clone()
            && !documents.is_empty()
        {
            let changes: Vec<HandlerChange<'_>> = documents
                .iter()
                .map(|(position, document)| HandlerChange {
                    document,
                    position,
                    key: dedupe_key(document, position),
                })
                .collect();
            let pushes = self.call_handler(&handler, &changes).await?;
            let first = changes.first().map_or("", |c| c.position);
            for push in pushes {
                self.push(push, first).await?;
            }
        }
        Ok(())
    }

    /// Calls the handler until it answers with messages; the lag keeps being reported.
    async fn call_handler(
        &mut self,
        handler: &FeedHandler,
        changes: &[HandlerChange<'_>],
    ) -> Result<Vec<FeedPush>, Interrupted> {
        let feed = self.parts.feed.clone();
        let mut backoff = HANDLER_BACKOFF_MIN;
        loop {
            match handler
                .call(&feed.name, &self.parts.partition, &feed.hub, changes)
                .await
            {
                Ok(pushes) => {
                    self.parts.metrics.feed_handler_call(&feed.name, "ok");
                    return Ok(pushes);
                }
                Err(error) => {
                    self.parts
                        .metrics
                        .feed_handler_call(&feed.name, error.outcome());
                    tracing::warn!(
                        lease = %self.parts.lease,
                        changes = changes.len(),
                        first = %changes.first().map_or("", |c| c.position),
                        retry_in = ?backoff,
                        %error,
                        "the feed's handler failed; retrying the batch (the checkpoint waits)"
                    );
                    let checkpoint = self.parts.checkpoint.clone();
                    self.report_lag(checkpoint.as_deref()).await;
                    if self.pause(backoff).await {
                        return Err(Interrupted::Stopped);
                    }
                    backoff = (backoff * 2).min(HANDLER_BACKOFF_MAX);
                }
            }
        }
    }

    /// Sends one push, retrying until it is sent (or the reader is stopped).
    async fn push(&mut self, push: FeedPush, position: &str) -> Result<(), Interrupted> {
        loop {
            match self.parts.sink.push(push.clone()).await {
                Ok(()) => return Ok(()),
                Err(error) => {
                    tracing::warn!(lease = %self.parts.lease, %position, %error, "could not push a change; retrying");
                    if self.pause(RETRY_DELAY).await {
                        return Err(Interrupted::Stopped);
                    }
                }
            }
        }
    }

    /// Writes `next` as the checkpoint; `false` when the lease moved (the reader must stop).
    async fn write_checkpoint(&mut self, next: String) -> bool {
        let feed = &self.parts.feed.name;
        match self
            .parts
            .leases
            .checkpoint(&self.parts.lease, &self.parts.node, self.parts.epoch, &next)
            .await
        {
            Ok(true) => {
                self.parts.metrics.feed_checkpoint(feed, true);
                self.parts.checkpoint = Some(next);
                true
            }
            Ok(false) => {
                self.parts.metrics.feed_checkpoint(feed, false);
                tracing::info!(lease = %self.parts.lease, epoch = self.parts.epoch, "checkpoint refused: the lease moved to another node; stopping");
                false
            }
            Err(error) => {
                // The batch was pushed; keep reading after it and write the checkpoint later.
                tracing::warn!(lease = %self.parts.lease, %error, "could not write the checkpoint; will retry with the next batch");
                self.parts.checkpoint = Some(next);
                true
            }
        }
    }

    /// The partition split or merged: hands the lease (and its checkpoint) to the successors.
    async fn hand_over(&mut self, successors: &[String]) {
        let feed = &self.parts.feed.name;
        let ids: Vec<String> = successors.iter().map(|s| format!("{feed}/{s}")).collect();
        loop {
            match self
                .parts
                .leases
                .replace(&self.parts.lease, &self.parts.node, self.parts.epoch, &ids)
                .await
            {
                Ok(true) => {
                    tracing::info!(lease = %self.parts.lease, successors = ?ids, checkpoint = ?self.parts.checkpoint, "partition split or merged: its lease is replaced by the successors', which continue from its checkpoint");
                    return;
                }
                Ok(false) => {
                    tracing::info!(lease = %self.parts.lease, "the lease moved before it could be handed over; stopping");
                    return;
                }
                Err(error) => {
                    tracing::warn!(lease = %self.parts.lease, %error, "could not replace the lease of a split partition; retrying");
                    if self.pause(RETRY_DELAY).await {
                        return;
                    }
                }
            }
        }
    }

    /// Reports the lag after `position` at most every [`LAG_INTERVAL`].
    async fn report_lag(&mut self, position: Option<&str>) {
        if self.last_lag.is_some_and(|t| t.elapsed() < LAG_INTERVAL) {
            return;
        }
        self.last_lag = Some(Instant::now());
        if let Ok(lag) = self.parts.source.lag(&self.parts.partition, position).await {
            self.parts
                .metrics
                .feed_lag(&self.parts.feed.name, &self.parts.partition, lag);
        }
    }

    /// Waits `delay`; `true` when asked to stop meanwhile.
    async fn pause(&mut self, delay: Duration) -> bool {
        tokio::select! {
            () = tokio::time::sleep(delay) => false,
            _ = self.stopped.changed() => true,
        }
    }
}
