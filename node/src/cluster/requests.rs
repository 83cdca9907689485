//! Commands sent to other nodes that wait for their reply (one, or one per receiver of a
//! published change).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};

use herald_proto::backplane::ReplyOutcome;
use tokio::sync::{mpsc, oneshot};

/// Most commands in flight at once; beyond it new ones fail at once instead of piling up.
pub const MAX_PENDING_REQUESTS: usize = 10_000;

/// Replies one request with several answerers keeps before dropping more (more than any
/// cluster has nodes).
pub const MAX_REPLIES: usize = 1024;

/// Where a request's reply goes.
enum Waiter {
    /// The one reply of a command to one node.
    One(oneshot::Sender<ReplyOutcome>),
    /// Every reply of a change published to several nodes, until abandoned.
    Many(mpsc::Sender<ReplyOutcome>),
}

/// Pending requests by id.
#[derive(Default)]
pub struct Requests {
    next_id: AtomicU64,
    pending: Mutex<HashMap<u64, Waiter>>,
}

/// Too many requests are waiting for replies.
#[derive(Debug, Clone, Copy, thiserror::Error)]
#[error("too many requests to other nodes are waiting ({MAX_PENDING_REQUESTS}); retry later")]
pub struct TooManyPending;

impl Requests {
    /// Registers a request; returns its id and where its reply arrives.
    pub fn start(&self) -> Result<(u64, oneshot::Receiver<ReplyOutcome>), TooManyPending> {
        let mut pending = self.pending.lock().unwrap_or_else(PoisonError::into_inner);
        if pending.len() >= MAX_PENDING_REQUESTS {
            return Err(TooManyPending);
        }
        let id = self.next_id.fetch_add(1, Ordering::Relaxed) + 1;
        let (tx, rx) = oneshot::channel();
        pending.insert(id, Waiter::One(tx));
        Ok((id, rx))
    }

    /// Registers a request answered by several nodes; the caller counts the replies and
    /// abandons it when done.
    pub fn start_many(&self) -> Result<(u64, mpsc::Receiver<ReplyOutcome>), TooManyPending> {
        let mut pending = self.pending.lock().unwrap_or_else(PoisonError::into_inner);
        if pending.len() >= MAX_PENDING_REQUESTS {
            return Err(TooManyPending);
        }
        let id = self.next_id.fetch_add(1, Ordering::Relaxed) + 1;
        let (tx, rx) = mpsc::channel(MAX_REPLIES);
        pending.insert(id, Waiter::Many(tx));
        Ok((id, rx))
    }

    /// Hands a reply to its waiting request (ignored when it timed out already).
    pub fn complete(&self, id: u64, outcome: ReplyOutcome) {
        let mut pending = self.pending.lock().unwrap_or_else(PoisonError::into_inner);
        match pending.get(&id) {
            Some(Waiter::Many(replies)) => {
                let _ = replies.try_send(outcome);
            }
            Some(Waiter::One(_)) => {
                if let Some(Waiter::One(waiter)) = pending.remove(&id) {
                    let _ = waiter.send(outcome);
                }
            }
            None => {}
        }
    }

    /// Forgets a request that gave up waiting.
    pub fn abandon(&self, id: u64) {
        self.pending
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replies_reach_their_request_once() {
        let requests = Requests::default();
        let (a, mut ra) = requests.start().unwrap();
        let (b, mut rb) = requests.start().unwrap();
        assert_ne!(a, b);
        requests.complete(b, ReplyOutcome::NotFound);
        requests.complete(b, ReplyOutcome::Done { changed: true });
        assert_eq!(rb.try_recv().unwrap(), ReplyOutcome::NotFound);
        requests.abandon(a);
        requests.complete(a, ReplyOutcome::NotFound);
        assert!(ra.try_recv().is_err());
    }

    #[test]
    fn a_published_request_collects_every_reply_until_abandoned() {
        let requests = Requests::default();
        let (id, mut replies) = requests.start_many().unwrap();
        requests.complete(id, ReplyOutcome::Done { changed: true });
        requests.complete(id, ReplyOutcome::Done { changed: false });
        assert_eq!(
            replies.try_recv().unwrap(),
            ReplyOutcome::Done { changed: true }
        );
        assert_eq!(
            replies.try_recv().unwrap(),
            ReplyOutcome::Done { changed: false }
        );
        requests.abandon(id);
        requests.complete(id, ReplyOutcome::NotFound);
        assert!(replies.try_recv().is_err());
    }
}
