//! The state the public handle and the supervisor task share: intent goes in (publishes,
//! subscriptions, closing), the link state comes out. Locks are held for a queue operation
//! only, never across an await.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use tokio::sync::{Notify, watch};

use super::counters::BackplaneCounters;
use super::outbox::{Outbox, Publish};
use super::push::Unsubscribed;
use super::subscriptions::SubscriptionBook;
use crate::backplane::LinkState;

/// Shared between [`super::RedisBackplane`] and its supervisor.
pub(super) struct Shared {
    /// Publishes not yet sent: the send queue while up, the outage buffer while down.
    outbox: Mutex<Outbox>,
    /// Wanted channels and pending changes.
    book: Mutex<SubscriptionBook>,
    /// Channels the server unsubscribed us from, reported by the push router.
    pub unsubscribed: Arc<Unsubscribed>,
    /// Wakes the supervisor: new publishes, subscription changes, a lost connection, closing.
    pub wake: Arc<Notify>,
    /// The highest subscription ticket (see [`SubscriptionBook::requested`]) known to be in
    /// effect on the server: joins wait for it to pass theirs.
    pub confirmed: watch::Sender<u64>,
    /// The link state readiness follows.
    pub state: watch::Sender<LinkState>,
    /// Set once, when the node leaves the backplane (or drops it).
    pub closing: watch::Sender<bool>,
    /// Set by the supervisor as it ends, so `shutdown` can wait for the flush.
    pub done: watch::Sender<bool>,
    /// Metric handles from the caller.
    pub counters: BackplaneCounters,
    /// Publishes dropped so far, readable without a metrics registry (tests, diagnostics).
    dropped: AtomicU64,
}

impl Shared {
    pub(super) fn new(
        outage_buffer: usize,
        counters: BackplaneCounters,
        initial: LinkState,
    ) -> Self {
        Self {
            outbox: Mutex::new(Outbox::new(outage_buffer)),
            book: Mutex::new(SubscriptionBook::default()),
            unsubscribed: Arc::default(),
            wake: Arc::new(Notify::new()),
            confirmed: watch::Sender::new(0),
            state: watch::Sender::new(initial),
            closing: watch::Sender::new(false),
            done: watch::Sender::new(false),
            counters,
            dropped: AtomicU64::new(0),
        }
    }

    pub(super) fn outbox(&self) -> MutexGuard<'_, Outbox> {
        self.outbox.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(super) fn book(&self) -> MutexGuard<'_, SubscriptionBook> {
        self.book.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Queues a publish and wakes the supervisor.
    pub(super) fn enqueue(&self, publish: Publish) {
        let (dropped, bytes) = {
            let mut outbox = self.outbox();
            (outbox.push(publish), outbox.bytes())
        };
        self.count_dropped(dropped);
        self.counters.buffered_bytes.set(bytes as f64);
        self.wake.notify_one();
    }

    /// Puts an unsent batch back in front.
    pub(super) fn requeue(&self, batch: Vec<Publish>) {
        let (dropped, bytes) = {
            let mut outbox = self.outbox();
            (outbox.requeue(batch), outbox.bytes())
        };
        self.count_dropped(dropped);
        self.counters.buffered_bytes.set(bytes as f64);
    }

    /// Takes up to `max` publishes to send.
    pub(super) fn take(&self, max: usize) -> Vec<Publish> {
        let (batch, bytes) = {
            let mut outbox = self.outbox();
            (outbox.take(max), outbox.bytes())
        };
        self.counters.buffered_bytes.set(bytes as f64);
        batch
    }

    /// Records that every subscription up to `ticket` is in effect on the server.
    pub(super) fn confirm(&self, ticket: u64) {
        self.confirmed.send_if_modified(|done| {
            let newer = ticket > *done;
            if newer {
                *done = ticket;
            }
            newer
        });
    }

    pub(super) fn count_dropped(&self, count: usize) {
        if count > 0 {
            self.dropped.fetch_add(count as u64, Ordering::Relaxed);
            self.counters.dropped.increment(count as u64);
        }
    }

    pub(super) fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    pub(super) fn is_closing(&self) -> bool {
        *self.closing.borrow()
    }
}
