//! Commands sent to other nodes that wait for their reply.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};

use herald_proto::backplane::ReplyOutcome;
use tokio::sync::oneshot;

/// Most commands in flight at once; beyond it new ones fail at once instead of piling up.
pub const MAX_PENDING_REQUESTS: usize = 10_000;

/// Pending requests by id.
#[derive(Default)]
pub struct Requests {
    next_id: AtomicU64,
    pending: Mutex<HashMap<u64, oneshot::Sender<ReplyOutcome>>>,
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
        pending.insert(id, tx);
        Ok((id, rx))
    }

    /// Hands a reply to its waiting request (ignored when it timed out already).
    pub fn complete(&self, id: u64, outcome: ReplyOutcome) {
        let waiter = self
            .pending
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&id);
        if let Some(waiter) = waiter {
            let _ = waiter.send(outcome);
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
}
