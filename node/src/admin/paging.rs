//! Connection listings across the cluster, paged: nodes in id order, each asked for its
//! connections after the cursor, until the page is full. A page costs as many requests as
//! nodes it spans, not one per node of the cluster.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use herald_proto::backplane::NodeRecord;

use super::gather::{get_json, live_nodes};
use super::local::{self, ConnectionFilter};
use super::views::{GroupView, Unreachable, UserGroupView, UserView};
use super::{AdminError, AdminState};
use crate::hub::actor::ConnectionSummary;

/// Default page size.
pub const DEFAULT_LIMIT: usize = 100;
/// Largest page size.
pub const MAX_LIMIT: usize = 1000;
/// Members listed by the group and user views (each a full listing, paged internally).
const MEMBERS_LIMIT: usize = 10_000;

/// Where the next page starts: after this connection of this node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor {
    /// The node of the last connection listed.
    pub node: String,
    /// The last connection listed.
    pub connection: String,
}

impl Cursor {
    /// The opaque text handed to clients.
    pub fn encode(&self) -> String {
        URL_SAFE_NO_PAD.encode(format!("{}\n{}", self.node, self.connection))
    }

    /// Parses [`Cursor::encode`]'s text.
    pub fn decode(text: &str) -> Result<Self, AdminError> {
        let bad = || {
            AdminError::BadRequest(
                "cursor is not one this API handed out: pass the Herald-Next-Cursor header's value unchanged".to_owned(),
            )
        };
        let bytes = URL_SAFE_NO_PAD.decode(text).map_err(|_| bad())?;
        let text = String::from_utf8(bytes).map_err(|_| bad())?;
        let (node, connection) = text.split_once('\n').ok_or_else(bad)?;
        if node.is_empty() || connection.is_empty() {
            return Err(bad());
        }
        Ok(Self {
            node: node.to_owned(),
            connection: connection.to_owned(),
        })
    }
}

/// One page of a listing.
#[derive(Debug, Default)]
pub struct Page {
    /// The connections, by node id then connection id.
    pub connections: Vec<ConnectionSummary>,
    /// Where the next page starts; `None` on the last page.
    pub next: Option<Cursor>,
    /// Nodes that could not be asked.
    pub unreachable: Vec<Unreachable>,
}

/// The connections of `node` matching `filter`, after `after`, at most `limit`.
async fn node_connections(
    state: &AdminState,
    node: &NodeRecord,
    filter: &ConnectionFilter,
    after: Option<&str>,
    limit: usize,
) -> Result<Vec<ConnectionSummary>, String> {
    if node.id == state.record.id {
        return Ok(local::connections(state, filter, after, limit).await);
    }
    let mut query = url::form_urlencoded::Serializer::new(String::new());
    for (key, value) in [
        ("hub", filter.hub.as_deref()),
        ("user", filter.user.as_deref()),
        ("group", filter.group.as_deref()),
        ("after", after),
    ] {
        if let Some(value) = value {
            query.append_pair(key, value);
        }
    }
    query.append_pair("limit", &limit.to_string());
    let path = format!("/api/admin/local/connections?{}", query.finish());
    get_json(state, node, &path).await
}

/// A page of connections across the cluster (or of `only` node).
pub async fn connections(
    state: &AdminState,
    filter: &ConnectionFilter,
    only: Option<&str>,
    cursor: Option<Cursor>,
    limit: usize,
) -> Result<Page, AdminError> {
    let mut nodes = live_nodes(state).await?;
    if let Some(only) = only {
        nodes.retain(|n| n.id == only);
        if nodes.is_empty() {
            return Err(AdminError::UnknownNode(only.to_owned()));
        }
    }
    if let Some(cursor) = &cursor {
        nodes.retain(|n| n.id >= cursor.node);
    }
    let mut page = Page::default();
    // One more than asked tells whether another page follows.
    let wanted = limit + 1;
    for node in &nodes {
        let after = cursor
            .as_ref()
            .filter(|c| c.node == node.id)
            .map(|c| c.connection.as_str());
        let remaining = wanted - page.connections.len();
        match node_connections(state, node, filter, after, remaining).await {
            Ok(found) => page.connections.extend(found),
            Err(error) => page.unreachable.push(Unreachable {
                node: node.id.clone(),
                error,
            }),
        }
        if page.connections.len() >= wanted {
            break;
        }
    }
    if page.connections.len() > limit {
        page.connections.truncate(limit);
        page.next = page.connections.last().map(|last| Cursor {
            node: last.node.clone(),
            connection: last.id.clone(),
        });
    }
    Ok(page)
}

/// Every page of a listing (for the group and user views), up to [`MEMBERS_LIMIT`].
async fn all_connections(
    state: &AdminState,
    filter: &ConnectionFilter,
) -> Result<(Vec<ConnectionSummary>, Vec<Unreachable>), AdminError> {
    let mut all = Vec::new();
    let mut unreachable = Vec::new();
    let mut cursor = None;
    loop {
        let page = connections(state, filter, None, cursor, MAX_LIMIT).await?;
        all.extend(page.connections);
        for node in page.unreachable {
            if !unreachable
                .iter()
                .any(|u: &Unreachable| u.node == node.node)
            {
                unreachable.push(node);
            }
        }
        match page.next {
            Some(next) if all.len() < MEMBERS_LIMIT => cursor = Some(next),
            _ => return Ok((all, unreachable)),
        }
    }
}

/// The members of a group across the cluster.
pub async fn group(state: &AdminState, hub: &str, group: &str) -> Result<GroupView, AdminError> {
    let filter = ConnectionFilter {
        hub: Some(hub.to_owned()),
        user: None,
        group: Some(group.to_owned()),
    };
    let (members, unreachable) = all_connections(state, &filter).await?;
    Ok(GroupView {
        hub: hub.to_owned(),
        group: group.to_owned(),
        members,
        unreachable,
    })
}

/// A user's connections across the cluster and persistent groups.
pub async fn user(state: &AdminState, hub: &str, user: &str) -> Result<UserView, AdminError> {
    let filter = ConnectionFilter {
        hub: Some(hub.to_owned()),
        user: Some(user.to_owned()),
        group: None,
    };
    let (connections, unreachable) = all_connections(state, &filter).await?;
    let user_groups = match state.app.cluster.store() {
        Some(store) => store
            .user_groups(hub, user)
            .await
            .map_err(AdminError::redis)?
            .into_iter()
            .map(|(group, expires_at_ms)| UserGroupView {
                group,
                expires_at_ms,
            })
            .collect(),
        None => local_user_groups(state, hub, user).await,
    };
    let mut user_groups = user_groups;
    user_groups.sort_by(|a, b| a.group.cmp(&b.group));
    Ok(UserView {
        hub: hub.to_owned(),
        user: user.to_owned(),
        connections,
        user_groups,
        unreachable,
    })
}

/// Standalone, persistent user groups live in the hub's registry.
async fn local_user_groups(state: &AdminState, hub: &str, user: &str) -> Vec<UserGroupView> {
    let Some(hub) = hub.parse().ok().and_then(|h| state.app.hubs.get(&h)) else {
        return Vec::new();
    };
    hub.user_groups(user.to_owned())
        .await
        .unwrap_or_default()
        .into_iter()
        .map(|(group, expires_at_ms)| UserGroupView {
            group,
            expires_at_ms,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_garbage_is_a_bad_request() {
        let cursor = Cursor {
            node: "node-a".into(),
            connection: "AbC.node-a".into(),
        };
        assert_eq!(Cursor::decode(&cursor.encode()).unwrap(), cursor);
        for bad in ["", "!!!", &URL_SAFE_NO_PAD.encode("no-newline")] {
            assert!(matches!(
                Cursor::decode(bad),
                Err(AdminError::BadRequest(_))
            ));
        }
    }
}
