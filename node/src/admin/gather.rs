//! Gathering the cluster's view on the node that was asked: the registry, the leader and the
//! lease table from Redis, then every live node's own part over HTTP, all at once.

use std::collections::BTreeMap;
use std::time::Duration;

use futures_util::future::join_all;
use herald_coordinator::leader::{LeaderInfo, read_leader};
use herald_coordinator::lease_store::LeaseRecord;
use herald_proto::backplane::NodeRecord;
use serde::de::DeserializeOwned;

use super::local;
use super::views::{ClusterView, FeedView, LeaseView, NodeState, NodeView};
use super::{AdminError, AdminState};
use crate::metrics::unix_ms;

/// Every live node's registry record (this node alone when standalone), sorted by id.
pub async fn live_nodes(state: &AdminState) -> Result<Vec<NodeRecord>, AdminError> {
    match state.app.cluster.store() {
        Some(store) => Ok(store.nodes().await.map_err(AdminError::redis)?.0),
        None => Ok(vec![state.record.clone()]),
    }
}

/// `GET {admin_url}{path}` of another node, with the admin token, within the request timeout.
pub async fn get_json<T: DeserializeOwned>(
    state: &AdminState,
    node: &NodeRecord,
    path: &str,
) -> Result<T, String> {
    let url = format!("{}{path}", node.admin_url.trim_end_matches('/'));
    let response = state
        .authorized(state.client.get(&url))
        .timeout(state.request_timeout())
        .send()
        .await
        .map_err(|e| describe(&url, &e, state.request_timeout()))?;
    let status = response.status();
    if !status.is_success() {
        let body = response.text().await.unwrap_or_default();
        return Err(format!("{url} answered {status}: {}", body.trim()));
    }
    let body = response
        .bytes()
        .await
        .map_err(|e| format!("{url} broke off its answer: {e}"))?;
    serde_json::from_slice(&body).map_err(|e| format!("{url} answered with unexpected JSON: {e}"))
}

/// `POST {admin_url}{path}` of another node.
pub async fn post(state: &AdminState, node: &NodeRecord, path: &str) -> Result<(), String> {
    let url = format!("{}{path}", node.admin_url.trim_end_matches('/'));
    let response = state
        .authorized(state.client.post(&url))
        .timeout(state.request_timeout())
        .send()
        .await
        .map_err(|e| describe(&url, &e, state.request_timeout()))?;
    let status = response.status();
    if status.is_success() {
        return Ok(());
    }
    let body = response.text().await.unwrap_or_default();
    Err(format!("{url} answered {status}: {}", body.trim()))
}

fn describe(url: &str, error: &reqwest::Error, timeout: Duration) -> String {
    if error.is_timeout() {
        format!("{url} did not answer within {timeout:?}")
    } else if error.is_connect() {
        format!("cannot connect to {url}: is the node up and admin.advertise_url right?")
    } else {
        format!("request to {url} failed: {error}")
    }
}

/// The view of each node in `records`: this node's from memory, the others' over HTTP.
pub async fn node_views(state: &AdminState, records: &[NodeRecord]) -> Vec<NodeView> {
    let now_ms = unix_ms();
    let views = records.iter().map(|record| async move {
        if record.id == state.record.id {
            return local::node_view(state).await;
        }
        match get_json::<NodeView>(state, record, "/api/admin/local/node").await {
            Ok(mut view) => {
                // The registry's word on draining wins over a stale answer.
                if record.draining && view.state == NodeState::Ready {
                    view.state = NodeState::Draining;
                }
                view
            }
            Err(error) => NodeView::unreachable(record, error, now_ms),
        }
    });
    join_all(views).await
}

/// Every lease in the table, sorted by id (none without feeds).
pub async fn lease_records(state: &AdminState) -> Result<Vec<LeaseRecord>, AdminError> {
    let Some(table) = &state.leases else {
        return Ok(Vec::new());
    };
    let mut leases = table
        .all()
        .await
        .map_err(|e| AdminError::Unavailable(format!("cannot read the lease table: {e}")))?;
    leases.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(leases)
}

/// Who leads the coordinators: from Redis in a cluster; standalone, this node's embedded
/// coordinator when it has feeds.
pub async fn leader(state: &AdminState) -> Result<Option<LeaderInfo>, AdminError> {
    match state.app.cluster.store() {
        Some(store) => {
            let mut conn = store.connection();
            read_leader(&mut conn, &state.app.config.redis.prefix)
                .await
                .map_err(|e| AdminError::Unavailable(format!("cannot read the leader: {e}")))
        }
        None => Ok(state.leases.as_ref().map(|_| LeaderInfo {
            leader: format!("{} (embedded)", state.record.id),
            token: 0,
            since_ms: Some(state.record.started_at_ms),
        })),
    }
}

/// The leases with their owners' progress; fills each node's `leases`.
pub fn lease_views(records: Vec<LeaseRecord>, nodes: &mut [NodeView]) -> Vec<LeaseView> {
    let mut views = Vec::with_capacity(records.len());
    for record in records {
        let owner = record
            .owner
            .as_ref()
            .and_then(|owner| nodes.iter_mut().find(|n| &n.id == owner));
        let progress = match owner {
            Some(node) => {
                node.leases.push(record.id.clone());
                node.lease_progress.get(&record.id).copied()
            }
            None => None,
        };
        views.push(LeaseView::new(record, progress));
    }
    views
}

/// Per-feed totals over `leases` and the nodes' counters.
pub fn feed_views(leases: &[LeaseView], nodes: &[NodeView]) -> Vec<FeedView> {
    let rates = local::sum_by_feed(nodes.iter().map(|n| &n.feed_rates));
    let errors = local::sum_by_feed(nodes.iter().map(|n| &n.feed_errors));
    let mut feeds: BTreeMap<String, FeedView> = BTreeMap::new();
    for lease in leases {
        let feed = feeds.entry(lease.feed.clone()).or_insert_with(|| FeedView {
            feed: lease.feed.clone(),
            leases: 0,
            owned: 0,
            lag: 0,
            changes_per_second: rates.get(&lease.feed).copied().unwrap_or(0.0),
            errors_total: errors.get(&lease.feed).copied().unwrap_or(0),
        });
        feed.leases += 1;
        feed.owned += usize::from(lease.owner.is_some());
        feed.lag += lease.lag.unwrap_or(0);
    }
    feeds.into_values().collect()
}

/// What makes `herald ctl status` exit 1.
pub fn problems(
    clustered: bool,
    leader: Option<&LeaderInfo>,
    nodes: &[NodeView],
    leases: &[LeaseView],
) -> Vec<String> {
    let mut problems = Vec::new();
    if clustered && leader.is_none() && !leases.is_empty() {
        problems.push(
            "no coordinator leads: leases are not assigned; start `herald coordinator`".to_owned(),
        );
    }
    for node in nodes {
        if node.state != NodeState::Ready {
            let why = node
                .error
                .as_deref()
                .map(|e| format!(": {e}"))
                .unwrap_or_default();
            problems.push(format!("node {} is {}{why}", node.id, node.state.name()));
        }
    }
    for lease in leases.iter().filter(|l| l.owner.is_none()) {
        problems.push(format!("lease {} has no owner", lease.id));
    }
    problems
}

/// The whole view.
pub async fn cluster_view(state: &AdminState) -> Result<ClusterView, AdminError> {
    let records = live_nodes(state).await?;
    let (mut nodes, leases, coordinator) = tokio::join!(
        node_views(state, &records),
        lease_records(state),
        leader(state)
    );
    let (leases, coordinator) = (leases?, coordinator?);
    let leases = lease_views(leases, &mut nodes);
    let feeds = feed_views(&leases, &nodes);
    let clustered = state.app.cluster.is_clustered();
    let problems = problems(clustered, coordinator.as_ref(), &nodes, &leases);
    Ok(ClusterView {
        answered_by: state.record.id.clone(),
        clustered,
        generated_at_ms: unix_ms(),
        coordinator,
        nodes,
        leases,
        feeds,
        problems,
    })
}
