//! The one task that owns the push connection.
//!
//! It loops through two phases: *down* (connect with capped exponential backoff, then
//! subscribe every wanted channel; publishes meanwhile wait in the outbox) and *up* (apply
//! subscription changes, send queued publishes as pipelines, watch for the connection's
//! `Disconnection` push). Any failure goes back to *down* with a brand-new connection, which
//! on a Cluster also means a fresh slot map. A channel the server unsubscribed us from while
//! we still want it (Redis Cluster does so for every sharded channel of a slot that migrated)
//! is subscribed again; the cluster connection routes that to the slot's new owner, following
//! `MOVED`. Subscriptions are confirmed by ticket once their command returned, so joins can
//! wait for them. Closing flushes what is queued, unsubscribes and ends the task.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::mpsc;

use super::backoff::Backoff;
use super::connector::Connector;
use super::link::{Link, is_link_failure};
use super::push::{LostFlag, PushRouter};
use super::shared::Shared;
use crate::backplane::{Incoming, LinkState};

/// Publishes per pipeline: large enough to amortize round trips, small enough that one
/// failed pipeline is cheap to requeue.
const MAX_BATCH: usize = 512;

/// What ended the *up* phase.
enum Exit {
    /// The connection failed; the text is for the link state and logs.
    Lost(String),
    /// The node is leaving the backplane.
    Closing,
}

/// Everything the task needs besides the shared state.
pub(super) struct Supervisor {
    /// The shared state.
    pub shared: Arc<Shared>,
    /// How to connect.
    pub connector: Connector,
    /// The router's queue, handed to each new connection's push router.
    pub incoming: mpsc::Sender<Incoming>,
    /// Bound of each connection attempt and each reply.
    pub connect_timeout: Duration,
    /// The target, passwords hidden, for logs.
    pub shown: String,
}

/// How long publishes buffered during an outage wait after the link is back: longer than the
/// longest reconnect backoff, so the other nodes have resubscribed when they are sent.
const RECOVERY_SETTLE: Duration =
    Duration::from_millis(super::backoff::MAX_DELAY.as_millis() as u64 + 500);

impl Supervisor {
    /// Runs until closing; the shared `closing` cell is the only way to stop it.
    pub(super) async fn run(mut self) {
        let mut backoff = Backoff::new();
        let mut outage_since = Instant::now();
        let mut attempt: u32 = 0;
        let mut ever_up = false;
        let mut closing = self.shared.closing.subscribe();
        loop {
            if self.shared.is_closing() {
                let lost = self.shared.outbox().len();
                if lost > 0 {
                    tracing::warn!(target = %self.shown, lost, "redis backplane closed while down: buffered publishes dropped");
                    self.shared.count_dropped(lost);
                }
                break;
            }
            attempt += 1;
            let (router, lost) = PushRouter::new(
                self.incoming.clone(),
                self.shared.unsubscribed.clone(),
                self.shared.wake.clone(),
                self.shared.counters.clone(),
            );
            match self.connect(router).await {
                Ok((mut link, channels)) => {
                    let mut applied: HashSet<String> = channels.into_iter().collect();
                    let flushed = self.shared.outbox().len();
                    self.shared.state.send_replace(LinkState::Up);
                    if ever_up {
                        self.shared.counters.reconnects.increment(1);
                        tracing::info!(
                            target = %self.shown,
                            outage = %humantime::format_duration(round_ms(outage_since.elapsed())),
                            attempts = attempt,
                            resubscribed = applied.len(),
                            flushing = flushed,
                            "redis backplane recovered",
                        );
                    } else {
                        tracing::info!(target = %self.shown, channels = applied.len(), "redis backplane connected");
                    }
                    if ever_up && flushed > 0 {
                        // Redis drops a publish nobody is subscribed to. Other nodes come back
                        // on the same backoff schedule: give them time to resubscribe before
                        // the outage's publishes go out (new ones queue behind, in order).
                        tracing::info!(
                            target = %self.shown,
                            buffered = flushed,
                            settle = %humantime::format_duration(RECOVERY_SETTLE),
                            "waiting for the other nodes to resubscribe before flushing",
                        );
                        tokio::select! {
                            () = tokio::time::sleep(RECOVERY_SETTLE) => {}
                            _ = closing.wait_for(|closing| *closing) => {}
                        }
                    }
                    ever_up = true;
                    attempt = 0;
                    backoff.reset();
                    match self.serve(&mut link, &lost, &mut applied).await {
                        Exit::Closing => {
                            self.close(&mut link, &applied).await;
                            break;
                        }
                        Exit::Lost(error) => {
                            outage_since = Instant::now();
                            tracing::warn!(target = %self.shown, %error, channels = applied.len(), "redis backplane link lost: reconnecting and resubscribing");
                            self.shared.state.send_replace(LinkState::Down {
                                since: outage_since,
                                error,
                            });
                        }
                    }
                }
                Err(error) => {
                    let delay = backoff.next_delay();
                    tracing::info!(target = %self.shown, attempt, %error, retry_in = %humantime::format_duration(round_ms(delay)), "redis backplane connect attempt failed");
                    self.shared.state.send_replace(LinkState::Down {
                        since: outage_since,
                        error,
                    });
                    tokio::select! {
                        () = tokio::time::sleep(delay) => {}
                        _ = closing.wait_for(|closing| *closing) => {}
                    }
                }
            }
        }
        self.shared.state.send_replace(LinkState::Down {
            since: Instant::now(),
            error: "backplane closed".to_owned(),
        });
        self.shared.done.send_replace(true);
    }

    /// Connects and subscribes every wanted channel; returns the link and those channels.
    async fn connect(&mut self, router: PushRouter) -> Result<(Link, Vec<String>), String> {
        let timeout = self.connect_timeout;
        let mut link =
            match tokio::time::timeout(timeout, self.connector.push_link(router, timeout)).await {
                Ok(Ok(link)) => link,
                Ok(Err(e)) => return Err(e.to_string()),
                Err(_) => {
                    return Err(format!(
                        "no connection within {}",
                        humantime::format_duration(timeout)
                    ));
                }
            };
        // Reports about the previous connection's channels are moot: all are subscribed now.
        self.shared.unsubscribed.take();
        let (channels, ticket) = {
            let mut book = self.shared.book();
            (book.all(), book.requested())
        };
        if let Err(e) = link.subscribe(&channels).await {
            // Whatever was asked for is still wanted: the next connection subscribes all again.
            return Err(format!(
                "resubscribing {} channels failed: {e}",
                channels.len()
            ));
        }
        self.shared.confirm(ticket);
        Ok((link, channels))
    }

    /// The *up* phase.
    async fn serve(&self, link: &mut Link, lost: &LostFlag, applied: &mut HashSet<String>) -> Exit {
        loop {
            if self.shared.is_closing() {
                return Exit::Closing;
            }
            if lost.is_set() {
                return Exit::Lost("connection to redis lost".to_owned());
            }
            let dropped = self.shared.unsubscribed.take();
            let (changes, ticket) = {
                let mut book = self.shared.book();
                for channel in dropped {
                    if applied.remove(&channel) && book.resubscribe(&channel) {
                        self.shared.counters.resubscribed.increment(1);
                        tracing::info!(target = %self.shown, %channel, "redis dropped a wanted subscription (slot migrated or failed over): subscribing again");
                    }
                }
                (book.changes(applied), book.requested())
            };
            if !changes.is_empty() {
                let result = async {
                    link.subscribe(&changes.subscribe).await?;
                    link.unsubscribe(&changes.unsubscribe).await
                }
                .await;
                if let Err(e) = result {
                    self.shared
                        .book()
                        .mark_dirty(changes.subscribe.into_iter().chain(changes.unsubscribe));
                    return Exit::Lost(format!("changing subscriptions failed: {e}"));
                }
                applied.extend(changes.subscribe);
                for channel in &changes.unsubscribe {
                    applied.remove(channel);
                }
            }
            self.shared.confirm(ticket);
            let mut batch = self.shared.take(MAX_BATCH);
            if !batch.is_empty() {
                match link.publish(&mut batch).await {
                    Ok(()) => self.shared.counters.published.increment(batch.len() as u64),
                    Err(e) if is_link_failure(&e) => {
                        self.shared.requeue(batch);
                        return Exit::Lost(format!("publishing failed: {e}"));
                    }
                    Err(e) => {
                        tracing::warn!(target = %self.shown, error = %e, count = batch.len(), "redis refused publishes: dropped");
                        self.shared.count_dropped(batch.len());
                    }
                }
                continue;
            }
            // A wake-up that came while working left a permit, so none is missed here.
            self.shared.wake.notified().await;
        }
    }

    /// Sends what is queued, then leaves every channel.
    async fn close(&self, link: &mut Link, applied: &HashSet<String>) {
        let mut flushed = 0;
        loop {
            let mut batch = self.shared.take(MAX_BATCH);
            if batch.is_empty() {
                break;
            }
            let count = batch.len();
            if let Err(e) = link.publish(&mut batch).await {
                let lost = count + self.shared.outbox().len();
                tracing::warn!(target = %self.shown, error = %e, lost, "redis backplane could not flush on close");
                self.shared.count_dropped(lost);
                return;
            }
            self.shared.counters.published.increment(count as u64);
            flushed += count;
        }
        let channels: Vec<String> = applied.iter().cloned().collect();
        if let Err(e) = link.unsubscribe(&channels).await {
            tracing::debug!(target = %self.shown, error = %e, "redis backplane unsubscribe on close failed");
        }
        tracing::info!(target = %self.shown, flushed, "redis backplane closed");
    }
}

fn round_ms(d: Duration) -> Duration {
    Duration::from_millis(d.as_millis().try_into().unwrap_or(u64::MAX))
}
