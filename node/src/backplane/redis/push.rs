//! Where the connection's RESP3 push messages go: pub/sub messages straight to the router's
//! queue (no hop through the supervisor), a `Disconnection` to the supervisor as a flag, and
//! the channels the server unsubscribed us from to the supervisor as a list (it makes those
//! still wanted again: Redis Cluster drops sharded subscriptions of a slot that migrated or
//! whose shard failed over, with an `sunsubscribe` push).
//!
//! The redis crate calls [`PushRouter::send`] on its connection task, so it must never wait:
//! a full router queue drops the message (and counts it) rather than stall the connection.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use bytes::Bytes;
use redis::aio::{AsyncPushSender, SendError};
use redis::{PushInfo, PushKind, Value};
use tokio::sync::{Notify, mpsc};

use super::counters::BackplaneCounters;
use crate::backplane::Incoming;

/// Whether one connection has been lost; a fresh flag per connection, so a late
/// `Disconnection` from a replaced connection cannot take the new one down.
#[derive(Debug, Default)]
pub(super) struct LostFlag(AtomicBool);

impl LostFlag {
    pub(super) fn is_set(&self) -> bool {
        self.0.load(Ordering::Acquire)
    }

    fn set(&self) {
        self.0.store(true, Ordering::Release);
    }
}

/// Channels the server reported as unsubscribed, waiting for the supervisor. Shared by every
/// connection of the backplane: a late report from a replaced connection at worst costs one
/// needless subscribe.
#[derive(Debug, Default)]
pub(super) struct Unsubscribed(Mutex<Vec<String>>);

impl Unsubscribed {
    fn push(&self, channel: String) {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(channel);
    }

    /// Takes every reported channel.
    pub(super) fn take(&self) -> Vec<String> {
        std::mem::take(&mut *self.0.lock().unwrap_or_else(PoisonError::into_inner))
    }
}

/// The push sender given to one connection.
pub(super) struct PushRouter {
    /// The router's queue of incoming messages.
    incoming: mpsc::Sender<Incoming>,
    /// Set on `Disconnection`.
    lost: Arc<LostFlag>,
    /// Where `unsubscribe`/`sunsubscribe` pushes go.
    unsubscribed: Arc<Unsubscribed>,
    /// Wakes the supervisor to look at `lost` and `unsubscribed`.
    wake: Arc<Notify>,
    /// Counts received and dropped messages.
    counters: BackplaneCounters,
}

impl PushRouter {
    /// A router for a new connection, and that connection's lost flag.
    pub(super) fn new(
        incoming: mpsc::Sender<Incoming>,
        unsubscribed: Arc<Unsubscribed>,
        wake: Arc<Notify>,
        counters: BackplaneCounters,
    ) -> (Self, Arc<LostFlag>) {
        let lost = Arc::new(LostFlag::default());
        (
            Self {
                incoming,
                lost: lost.clone(),
                unsubscribed,
                wake,
                counters,
            },
            lost,
        )
    }

    fn deliver(&self, data: Vec<Value>) {
        // `message` and `smessage` carry [channel, payload].
        let mut data = data.into_iter();
        let (Some(channel), Some(payload)) = (data.next(), data.next()) else {
            return;
        };
        let (Some(channel), Some(payload)) = (bytes_of(channel), bytes_of(payload)) else {
            return;
        };
        let Ok(channel) = String::from_utf8(channel) else {
            return;
        };
        let incoming = Incoming {
            channel,
            payload: Bytes::from(payload),
        };
        match self.incoming.try_send(incoming) {
            Ok(()) => self.counters.received.increment(1),
            Err(mpsc::error::TrySendError::Full(dropped)) => {
                self.counters.dropped.increment(1);
                tracing::warn!(channel = %dropped.channel, "backplane incoming queue full: message dropped");
            }
            // The node is stopping; nobody reads any more.
            Err(mpsc::error::TrySendError::Closed(_)) => {}
        }
    }
}

fn bytes_of(value: Value) -> Option<Vec<u8>> {
    match value {
        Value::BulkString(bytes) => Some(bytes),
        Value::SimpleString(text) => Some(text.into_bytes()),
        _ => None,
    }
}

impl AsyncPushSender for PushRouter {
    fn send(&self, info: PushInfo) -> Result<(), SendError> {
        match info.kind {
            PushKind::Message | PushKind::SMessage => self.deliver(info.data),
            PushKind::Disconnection => {
                self.lost.set();
                self.wake.notify_one();
            }
            // Also the answer to our own unsubscribes: the supervisor ignores channels that
            // are no longer wanted.
            PushKind::Unsubscribe | PushKind::SUnsubscribe => {
                if let Some(channel) = info.data.into_iter().next().and_then(bytes_of)
                    && let Ok(channel) = String::from_utf8(channel)
                {
                    self.unsubscribed.push(channel);
                    self.wake.notify_one();
                }
            }
            _ => {}
        }
        Ok(())
    }
}
