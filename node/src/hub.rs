//! Hubs: the per-hub registries of connections, users and groups, each owned by an actor.
//!
//! [`Hubs`] maps hub names to running [`actor::HubHandle`]s, starting a hub actor the first time
//! a client connects to it (or a persistent user-group membership is stored for it). All hub
//! actors run on one dedicated arbiter, away from the HTTP workers.

pub mod actor;
pub mod presence;
pub mod registry;

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, PoisonError};

use actix::{Arbiter, ArbiterHandle};
use herald_proto::ids::{HubName, NameError};

use crate::cluster::Cluster;
use crate::metrics::Metrics;
use crate::session::link::Payload;
use crate::telemetry::spans;
use actor::{HubHandle, HubStopped};
use herald_proto::ids::ConnectionId;
use registry::Scope;
use tracing::Instrument as _;

/// A hub name that cannot be served.
#[derive(Debug, Clone, thiserror::Error)]
pub enum HubError {
    #[error(transparent)]
    InvalidName(#[from] NameError),
    #[error("unknown hub '{0}': this node serves only the hubs listed in its `hubs` setting")]
    Unknown(String),
}

/// All hubs of this node. Cheap to clone.
#[derive(Clone)]
pub struct Hubs {
    inner: Arc<Inner>,
}

struct Inner {
    /// Running hub actors by name.
    running: Mutex<HashMap<HubName, HubHandle>>,
    /// The allow-list from config; `None` accepts any valid name.
    allowed: Option<HashSet<HubName>>,
    /// The thread the hub actors run on.
    arbiter: ArbiterHandle,
    /// Passed to each hub for its counters.
    metrics: Metrics,
    /// Passed to each hub for its subscriptions and mirror.
    cluster: Cluster,
}

impl Hubs {
    /// Starts the hub arbiter. `allowed` empty means any valid hub name is served.
    pub fn new(allowed: &[HubName], metrics: Metrics, cluster: Cluster) -> Self {
        let arbiter = Arbiter::new().handle();
        let allowed = (!allowed.is_empty()).then(|| allowed.iter().cloned().collect());
        Self {
            inner: Arc::new(Inner {
                running: Mutex::new(HashMap::new()),
                allowed,
                arbiter,
                metrics,
                cluster,
            }),
        }
    }

    /// Validates a hub name from a request and checks it against the allow-list.
    pub fn check(&self, name: &str) -> Result<HubName, HubError> {
        let hub: HubName = name.parse()?;
        match &self.inner.allowed {
            Some(allowed) if !allowed.contains(&hub) => Err(HubError::Unknown(name.to_owned())),
            _ => Ok(hub),
        }
    }

    /// The running hub, starting it if needed.
    pub fn get_or_start(&self, hub: &HubName) -> HubHandle {
        let mut running = self
            .inner
            .running
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        running
            .entry(hub.clone())
            .or_insert_with(|| {
                HubHandle::start(
                    hub.clone(),
                    self.inner.metrics.hub(hub),
                    self.inner.cluster.clone(),
                    &self.inner.arbiter,
                )
            })
            .clone()
    }

    /// The hub if it is running (a hub that never had a client has no state to ask about).
    pub fn get(&self, hub: &HubName) -> Option<HubHandle> {
        self.inner
            .running
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(hub)
            .cloned()
    }

    /// Every running hub.
    pub fn all(&self) -> Vec<HubHandle> {
        self.inner
            .running
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .values()
            .cloned()
            .collect()
    }

    /// Stops the hub arbiter (after sessions were closed).
    pub fn stop(&self) {
        self.inner.arbiter.stop();
    }
}

/// Hands `payload` to this node's connections of `scope`, in a fan-out span counting them.
pub async fn fan_out(
    handle: &HubHandle,
    hub: &HubName,
    scope: Scope,
    excluded: Vec<ConnectionId>,
    payload: Payload,
) -> Result<usize, HubStopped> {
    let span = spans::fanout(hub.as_str());
    let written = handle
        .deliver(scope, excluded, payload)
        .instrument(span.clone())
        .await;
    if let Ok(count) = &written {
        span.record("herald.connections", *count);
    }
    written
}
