//! The single-process backplane: subscriptions and deliveries inside one process, for
//! standalone mode and tests. A publish reaches the subscribers of its channel (this process).

use std::collections::HashSet;
use std::sync::{Mutex, PoisonError};

use bytes::Bytes;
use futures_util::future::BoxFuture;
use tokio::sync::{mpsc, watch};

use super::{Backplane, Incoming, LinkState};

/// Pub/sub within this process.
pub struct InProcessBackplane {
    /// Channels subscribed to.
    channels: Mutex<HashSet<String>>,
    /// Where subscribed messages go.
    incoming: mpsc::Sender<Incoming>,
    /// Always up.
    state: watch::Sender<LinkState>,
}

impl InProcessBackplane {
    /// A backplane delivering to `incoming`.
    pub fn new(incoming: mpsc::Sender<Incoming>) -> Self {
        Self {
            channels: Mutex::new(HashSet::new()),
            incoming,
            state: watch::Sender::new(LinkState::Up),
        }
    }

    fn channels(&self) -> std::sync::MutexGuard<'_, HashSet<String>> {
        self.channels.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Backplane for InProcessBackplane {
    fn buffered_bytes(&self) -> usize {
        // Publishes go straight to the incoming queue: nothing waits.
        0
    }

    fn publish(&self, channel: &str, payload: Bytes) {
        // The count is ready at once; nobody needs it here.
        drop(self.publish_counted(channel, payload));
    }

    fn publish_counted(&self, channel: &str, payload: Bytes) -> BoxFuture<'static, Option<usize>> {
        let mut receivers = 0;
        if self.channels().contains(channel) {
            let incoming = Incoming {
                channel: channel.to_owned(),
                payload,
            };
            match self.incoming.try_send(incoming) {
                Ok(()) => receivers = 1,
                Err(_) => tracing::warn!(channel, "backplane incoming queue full: message dropped"),
            }
        }
        Box::pin(std::future::ready(Some(receivers)))
    }

    fn subscribe(&self, channel: &str) {
        self.channels().insert(channel.to_owned());
    }

    fn unsubscribe(&self, channel: &str) {
        self.channels().remove(channel);
    }

    fn confirmed(&self) -> BoxFuture<'static, ()> {
        // Subscribing is a set insert here: in effect as soon as it returns.
        Box::pin(std::future::ready(()))
    }

    fn state(&self) -> watch::Receiver<LinkState> {
        self.state.subscribe()
    }

    fn shutdown(&self) -> BoxFuture<'static, ()> {
        self.channels().clear();
        Box::pin(async {})
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_subscribed_channels_are_delivered() {
        let (tx, mut rx) = mpsc::channel(8);
        let backplane = InProcessBackplane::new(tx);
        backplane.publish("a", Bytes::from_static(b"1"));
        backplane.subscribe("a");
        backplane.publish("a", Bytes::from_static(b"2"));
        backplane.publish("b", Bytes::from_static(b"3"));
        backplane.unsubscribe("a");
        backplane.publish("a", Bytes::from_static(b"4"));
        assert_eq!(
            rx.try_recv().unwrap(),
            Incoming {
                channel: "a".into(),
                payload: Bytes::from_static(b"2")
            }
        );
        assert!(rx.try_recv().is_err());
        assert!(backplane.state().borrow().is_up());
    }
}
