//! This node's own part of the cluster view: its state, counts and rates, and its connections.

use std::collections::BTreeMap;
use std::time::Instant;

use crate::backplane::LinkState;
use crate::hub::actor::{ConnectionSummary, ListConnections};
use crate::metrics::unix_ms;

use super::AdminState;
use super::views::{BackplaneView, ConnectionCounts, NodeState, NodeView};

/// Which of this node's connections a listing wants.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConnectionFilter {
    /// Only this hub's.
    pub hub: Option<String>,
    /// Only this user's.
    pub user: Option<String>,
    /// Only this group's members.
    pub group: Option<String>,
}

/// This node as it sees itself.
pub async fn node_view(state: &AdminState) -> NodeView {
    let app = &state.app;
    let link = app.cluster.state().borrow().clone();
    let node_state = if state.drain.is_draining() {
        NodeState::Draining
    } else if !link.is_up() {
        NodeState::BackplaneDown
    } else if !*app.ready.borrow() {
        NodeState::Starting
    } else {
        NodeState::Ready
    };
    let backplane = match (&link, app.cluster.is_clustered()) {
        (LinkState::Up, false) => BackplaneView {
            state: "in_process".to_owned(),
            error: None,
            buffered_bytes: 0,
        },
        (LinkState::Up, true) => BackplaneView {
            state: "up".to_owned(),
            error: None,
            buffered_bytes: app.cluster.buffered_bytes(),
        },
        (LinkState::Down { since, error }, _) => BackplaneView {
            state: "down".to_owned(),
            error: Some(format!("{error} (down for {}s)", since.elapsed().as_secs())),
            buffered_bytes: app.cluster.buffered_bytes(),
        },
    };
    let mut connections = ConnectionCounts::default();
    for hub in app.hubs.all() {
        let Ok(counts) = hub.transport_counts().await else {
            continue;
        };
        let total: usize = counts.values().sum();
        if total == 0 {
            continue;
        }
        connections.total += total;
        connections.by_hub.insert(hub.name().to_string(), total);
        for (transport, count) in counts {
            *connections
                .by_transport
                .entry(transport.to_owned())
                .or_default() += count;
        }
    }
    let now = Instant::now();
    let now_ms = unix_ms();
    let activity = app.metrics.activity();
    let record = &state.record;
    NodeView {
        id: record.id.clone(),
        url: record.url.clone(),
        admin_url: record.admin_url.clone(),
        version: record.version.clone(),
        started_at_ms: record.started_at_ms,
        uptime_seconds: now_ms.saturating_sub(record.started_at_ms) / 1000,
        state: node_state,
        error: backplane.error.clone(),
        connections: Some(connections),
        backplane: Some(backplane),
        rates: Some(activity.rates(now, now_ms)),
        history: activity.history(),
        leases: Vec::new(),
        lease_progress: app.metrics.feed_progress().leases(),
        feed_rates: activity.feed_rates(now, now_ms),
        feed_errors: app.metrics.feed_progress().errors(),
    }
}

/// This node's connections matching `filter`, sorted by id, after `after`, at most `limit`.
pub async fn connections(
    state: &AdminState,
    filter: &ConnectionFilter,
    after: Option<&str>,
    limit: usize,
) -> Vec<ConnectionSummary> {
    let hubs = match &filter.hub {
        Some(name) => match name.parse() {
            Ok(hub) => state.app.hubs.get(&hub).into_iter().collect(),
            Err(_) => Vec::new(),
        },
        None => state.app.hubs.all(),
    };
    let mut page = Vec::new();
    for hub in hubs {
        let query = ListConnections {
            user: filter.user.clone(),
            group: filter.group.clone(),
            after: after.map(str::to_owned),
            limit,
        };
        if let Ok(found) = hub.list(query).await {
            page.extend(found);
        }
    }
    // Each hub answered its first `limit` after `after`; merged, the first `limit` are right.
    page.sort_unstable_by(|a, b| a.id.cmp(&b.id));
    page.truncate(limit);
    page
}

/// Counts per feed, summed from `views` (used by the cluster view).
pub fn sum_by_feed<'a, T: Copy + std::ops::AddAssign + Default + 'a>(
    maps: impl Iterator<Item = &'a BTreeMap<String, T>>,
) -> BTreeMap<String, T> {
    let mut sum = BTreeMap::new();
    for map in maps {
        for (feed, value) in map {
            *sum.entry(feed.clone()).or_default() += *value;
        }
    }
    sum
}
