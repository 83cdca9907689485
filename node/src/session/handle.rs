//! What transport requests hold to reach a running session.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use actix::Addr;

use super::actor::Session;
use super::outbox::Outbox;
use crate::metrics::Metrics;

/// A running session, as seen by transport requests. Cheap to clone.
#[derive(Clone)]
pub struct SessionHandle {
    /// The session actor.
    pub addr: Addr<Session>,
    /// Its outbound queue, for the transport that attaches.
    pub outbox: Outbox,
    /// Where transports count.
    pub metrics: Metrics,
    /// A POST send is in flight; the spec answers a concurrent one with 409.
    posting: Arc<AtomicBool>,
    /// A long poll was answered already; the first one returns at once, empty.
    polled: Arc<AtomicBool>,
}

/// Clears the in-flight flag of a POST send when the request ends, however it ends.
pub struct PostGuard {
    posting: Arc<AtomicBool>,
}

impl Drop for PostGuard {
    fn drop(&mut self) {
        self.posting.store(false, Ordering::Release);
    }
}

impl SessionHandle {
    /// Wraps a started session.
    pub fn new(addr: Addr<Session>, outbox: Outbox, metrics: Metrics) -> Self {
        Self {
            addr,
            outbox,
            metrics,
            posting: Arc::default(),
            polled: Arc::default(),
        }
    }

    /// Marks a POST send in flight; `None` when another one is.
    pub fn begin_post(&self) -> Option<PostGuard> {
        (!self.posting.swap(true, Ordering::AcqRel)).then(|| PostGuard {
            posting: self.posting.clone(),
        })
    }

    /// Whether this is the connection's first long poll (which the client uses only to learn
    /// that the connection is up).
    pub fn is_first_poll(&self) -> bool {
        !self.polled.swap(true, Ordering::AcqRel)
    }
}
