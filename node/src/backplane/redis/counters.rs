//! The backplane's metric handles, built by the caller from the node's registry (there is no
//! global recorder), so this module never names metric keys itself.

use metrics::{Counter, Gauge};

/// Counters and gauges the Redis backplane updates.
#[derive(Clone)]
pub struct BackplaneCounters {
    /// Messages Redis accepted from this node (PUBLISH / SPUBLISH replies).
    pub published: Counter,
    /// Messages that arrived on subscribed channels and were queued for the router.
    pub received: Counter,
    /// Times the link came back after an outage (each one resubscribed every channel).
    pub reconnects: Counter,
    /// Channels subscribed again after the server dropped them while the link stayed up.
    pub resubscribed: Counter,
    /// Bytes of publishes waiting to be sent: near zero while up, the outage buffer while down.
    pub buffered_bytes: Gauge,
    /// Messages lost: the oldest publishes beyond the outage buffer, publishes Redis refused,
    /// and incoming messages beyond the router's queue.
    pub dropped: Counter,
}

impl BackplaneCounters {
    /// Handles that record nothing, for tests and tools without a registry.
    pub fn noop() -> Self {
        Self {
            published: Counter::noop(),
            received: Counter::noop(),
            reconnects: Counter::noop(),
            resubscribed: Counter::noop(),
            buffered_bytes: Gauge::noop(),
            dropped: Counter::noop(),
        }
    }
}
