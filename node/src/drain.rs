//! Draining: the node stops taking work and hands it to the others — on SIGTERM before it
//! exits, or on `POST /api/admin/nodes/{id}/drain` while it keeps running until undrained.
//!
//! One switch, watched by those who act on it: readiness turns false (the load balancer stops
//! sending clients), the registry record says `draining` (coordinators move the node's leases at
//! once), negotiations are refused, and every session is closed with `allowReconnect: true` so
//! clients reconnect through the load balancer to another node.

use std::sync::Arc;

use tokio::sync::watch;

use crate::connections::Connections;
use crate::hub::Hubs;
use crate::hub::registry::Scope;
use crate::session::close_reason::CloseReason;

/// The node's drain switch. Cheap to clone.
#[derive(Clone)]
pub struct DrainControl {
    inner: Arc<Inner>,
}

struct Inner {
    /// True while draining; readiness and the heartbeat watch it.
    draining: watch::Sender<bool>,
    /// Whose sessions to close.
    hubs: Hubs,
    /// Refuses negotiations while draining.
    connections: Connections,
}

/// What a drain or undrain request found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Switched {
    /// The node changed state.
    Changed,
    /// It was in that state already.
    Already,
}

impl DrainControl {
    /// A switch over `hubs` and `connections`, not draining.
    pub fn new(hubs: Hubs, connections: Connections) -> Self {
        let (draining, _) = watch::channel(false);
        Self {
            inner: Arc::new(Inner {
                draining,
                hubs,
                connections,
            }),
        }
    }

    /// Follows the switch.
    pub fn subscribe(&self) -> watch::Receiver<bool> {
        self.inner.draining.subscribe()
    }

    /// Whether the node drains now.
    pub fn is_draining(&self) -> bool {
        *self.inner.draining.borrow()
    }

    /// Starts draining: unready, marked draining, no new negotiations; then asks every session
    /// to close with `allowReconnect` (answers once they were asked, not once they are gone).
    pub async fn drain(&self) -> Switched {
        if self.inner.draining.send_replace(true) {
            return Switched::Already;
        }
        self.inner.connections.start_draining();
        let open = self.inner.connections.active();
        tracing::info!(
            open,
            "draining: unready, leases handed over, closing client connections with allowReconnect"
        );
        for hub in self.inner.hubs.all() {
            if let Err(error) = hub
                .close(Scope::All, Vec::new(), CloseReason::ServerShutdown)
                .await
            {
                tracing::warn!(%error, "could not close the sessions of a hub");
            }
        }
        Switched::Changed
    }

    /// Ends a drain: negotiations accepted, ready again (once the backplane is up), unmarked in
    /// the registry so the coordinators give the node leases again.
    pub fn undrain(&self) -> Switched {
        if !self.inner.draining.send_replace(false) {
            return Switched::Already;
        }
        self.inner.connections.stop_draining();
        tracing::info!("undrained: accepting clients and leases again");
        Switched::Changed
    }
}
