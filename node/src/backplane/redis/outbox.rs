//! Publishes waiting to be sent, in order, bounded by bytes.
//!
//! The same queue serves while the link is up (publishes wait here for the supervisor's next
//! pipeline) and while it is down (the outage buffer): a publish never waits, order is kept by
//! construction, and beyond the bound the oldest publishes are dropped, since the newest state
//! is what clients need once the link is back.

use std::collections::VecDeque;

use bytes::Bytes;
use tokio::sync::oneshot;

/// Bytes charged per publish on top of channel and payload, for the queue entry itself.
const ENTRY_OVERHEAD: usize = 64;

/// One publish waiting to be sent.
#[derive(Debug)]
pub(super) struct Publish {
    /// The channel to publish on.
    pub channel: String,
    /// The bytes to publish.
    pub payload: Bytes,
    /// Told how many subscribers Redis delivered it to; dropped with the publish when it is
    /// dropped (its waiter then learns it was not sent).
    pub receivers: Option<oneshot::Sender<usize>>,
}

impl Publish {
    fn cost(&self) -> usize {
        self.channel.len() + self.payload.len() + ENTRY_OVERHEAD
    }
}

/// A FIFO of publishes holding at most `limit` bytes.
#[derive(Debug)]
pub(super) struct Outbox {
    /// Oldest first.
    items: VecDeque<Publish>,
    /// Sum of the items' costs.
    bytes: usize,
    /// The outage buffer size; beyond it the oldest items are dropped.
    limit: usize,
}

impl Outbox {
    pub(super) fn new(limit: usize) -> Self {
        Self {
            items: VecDeque::new(),
            bytes: 0,
            limit,
        }
    }

    /// Appends `publish`; returns how many (oldest) publishes were dropped to make room.
    pub(super) fn push(&mut self, publish: Publish) -> usize {
        self.bytes += publish.cost();
        self.items.push_back(publish);
        self.enforce_limit()
    }

    /// Removes up to `max` publishes from the front, oldest first.
    pub(super) fn take(&mut self, max: usize) -> Vec<Publish> {
        let count = max.min(self.items.len());
        let batch: Vec<Publish> = self.items.drain(..count).collect();
        self.bytes -= batch.iter().map(Publish::cost).sum::<usize>();
        batch
    }

    /// Puts a batch that could not be sent back in front, in its order; returns how many
    /// publishes were dropped to stay within the limit.
    pub(super) fn requeue(&mut self, batch: Vec<Publish>) -> usize {
        for publish in batch.into_iter().rev() {
            self.bytes += publish.cost();
            self.items.push_front(publish);
        }
        self.enforce_limit()
    }

    pub(super) fn len(&self) -> usize {
        self.items.len()
    }

    pub(super) fn bytes(&self) -> usize {
        self.bytes
    }

    fn enforce_limit(&mut self) -> usize {
        let mut dropped = 0;
        while self.bytes > self.limit {
            let Some(oldest) = self.items.pop_front() else {
                break;
            };
            self.bytes -= oldest.cost();
            dropped += 1;
        }
        dropped
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn publish(n: usize) -> Publish {
        Publish {
            channel: "c".into(),
            payload: Bytes::from(format!("{n:03}")),
            receivers: None,
        }
    }

    fn payloads(items: &[Publish]) -> Vec<String> {
        items
            .iter()
            .map(|p| String::from_utf8_lossy(&p.payload).into_owned())
            .collect()
    }

    #[test]
    fn keeps_order_and_drops_the_oldest_beyond_the_limit() {
        let cost = publish(0).cost();
        let mut outbox = Outbox::new(3 * cost);
        assert_eq!((0..5).map(|n| outbox.push(publish(n))).sum::<usize>(), 2);
        assert_eq!((outbox.len(), outbox.bytes()), (3, 3 * cost));
        assert_eq!(payloads(&outbox.take(10)), ["002", "003", "004"]);
        assert_eq!((outbox.len(), outbox.bytes()), (0, 0));
    }

    #[test]
    fn a_requeued_batch_goes_back_in_front() {
        let cost = publish(0).cost();
        let mut outbox = Outbox::new(3 * cost);
        for n in 0..3 {
            outbox.push(publish(n));
        }
        let batch = outbox.take(2);
        assert_eq!(outbox.push(publish(3)), 0);
        assert_eq!(
            outbox.requeue(batch),
            1,
            "the oldest of the requeued batch goes"
        );
        assert_eq!(payloads(&outbox.take(10)), ["001", "002", "003"]);
    }
}
