//! The cluster as operators see it: the admin API's data, gathered on whichever node is asked
//! (see `docs/admin-api.md` for the contract and the cost at 100 nodes).
//!
//! - [`views`]: the JSON records;
//! - [`local`]: this node's own part (state, counts, rates, connections);
//! - [`gather`]: the registry, leader and lease table from Redis, and every node's part over
//!   HTTP, at once; a node that does not answer is shown unreachable with the error;
//! - [`paging`]: connection listings across nodes, paged with a cursor.
//!
//! The HTTP routes and the token check are in [`crate::http::admin`]; draining itself in
//! [`crate::drain`].

pub mod gather;
pub mod local;
pub mod paging;
pub mod views;

use std::sync::Arc;
use std::time::Duration;

use herald_coordinator::lease_table::LeaseTable;
use herald_proto::backplane::NodeRecord;

use crate::config::SecretText;
use crate::drain::{DrainControl, Switched};
use crate::http::AppState;

/// What the admin API could not do; the HTTP edge turns it into a status and a JSON body.
#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    /// Redis (registry, leases) could not be read.
    #[error("{0}")]
    Unavailable(String),
    /// No live node has this id.
    #[error("node {0} is not a live node of this cluster; `herald ctl nodes` lists them")]
    UnknownNode(String),
    /// A parameter is wrong.
    #[error("{0}")]
    BadRequest(String),
    /// Another node refused or did not answer a request routed to it.
    #[error("node {node} could not be asked: {error}")]
    NodeFailed {
        /// The node.
        node: String,
        /// Why.
        error: String,
    },
}

impl AdminError {
    /// A Redis failure.
    pub fn redis(error: impl std::fmt::Display) -> Self {
        Self::Unavailable(format!(
            "cannot read the cluster state: {error}; the view needs Redis"
        ))
    }
}

/// Everything the admin routes need. Cheap to clone.
#[derive(Clone)]
pub struct AdminState {
    /// The node's parts.
    pub app: AppState,
    /// This node's registry record (also built standalone, where it is not written).
    pub record: NodeRecord,
    /// The drain switch.
    pub drain: DrainControl,
    /// The lease table; `None` standalone without feeds.
    pub leases: Option<Arc<dyn LeaseTable>>,
    /// Asks the other nodes.
    pub client: reqwest::Client,
    /// `admin.token`: sent to the other nodes, required from callers.
    pub token: Option<SecretText>,
}

impl AdminState {
    /// How long another node may take to answer.
    pub fn request_timeout(&self) -> Duration {
        self.app.config.cluster.request_timeout
    }

    /// `builder` with the admin token, when one is configured.
    pub fn authorized(&self, builder: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        match &self.token {
            Some(token) => builder.bearer_auth(token.expose()),
            None => builder,
        }
    }

    /// Drains (`drain` true) or undrains the node `id`: this node directly, another through its
    /// admin listener. Answers the state the node is in now.
    pub async fn switch_drain(&self, id: &str, drain: bool) -> Result<&'static str, AdminError> {
        let state = if drain { "draining" } else { "ready" };
        if id == self.record.id {
            let switched = if drain {
                self.drain.drain().await
            } else {
                self.drain.undrain()
            };
            if switched == Switched::Already {
                tracing::info!(node = id, state, "drain switch: already in that state");
            }
            return Ok(state);
        }
        let nodes = gather::live_nodes(self).await?;
        let node = nodes
            .iter()
            .find(|n| n.id == id)
            .ok_or_else(|| AdminError::UnknownNode(id.to_owned()))?;
        let path = if drain {
            "/api/admin/local/drain"
        } else {
            "/api/admin/local/undrain"
        };
        gather::post(self, node, path)
            .await
            .map_err(|error| AdminError::NodeFailed {
                node: id.to_owned(),
                error,
            })?;
        Ok(state)
    }
}
