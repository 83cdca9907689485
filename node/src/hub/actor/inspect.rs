//! What the admin API asks a hub: its connections with their details, filtered and paged.

use std::collections::BTreeMap;

use actix::prelude::*;
use herald_proto::ids::ConnectionId;
use herald_proto::negotiate::TransportType;

use super::HubActor;
use crate::hub::registry::Scope;

/// One connection as the admin API shows it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ConnectionSummary {
    /// The connection id.
    pub id: String,
    /// Its hub.
    pub hub: String,
    /// The user id from its token; `None` for anonymous clients.
    pub user: Option<String>,
    /// The node that owns it.
    pub node: String,
    /// `WebSockets`, `ServerSentEvents` or `LongPolling`; `None` before a long-polling
    /// client's first poll.
    pub transport: Option<String>,
    /// `json` or `messagepack`.
    pub protocol: String,
    /// When its handshake completed (Unix ms).
    pub connected_at_ms: u64,
    /// Its groups, sorted.
    pub groups: Vec<String>,
}

/// Lists connections, sorted by id: those of `user` and/or in `group` (all without either),
/// after the id `after`, at most `limit`.
#[derive(Message)]
#[rtype(result = "Vec<ConnectionSummary>")]
pub struct ListConnections {
    /// Only this user's connections.
    pub user: Option<String>,
    /// Only members of this group.
    pub group: Option<String>,
    /// Only ids sorting after this one (the previous page's last).
    pub after: Option<String>,
    /// At most this many.
    pub limit: usize,
}

/// Counts the hub's connections per transport (`pending` before a long-polling client's first
/// poll).
#[derive(Message)]
#[rtype(result = "BTreeMap<&'static str, usize>")]
pub struct TransportCounts;

/// The persistent groups of a user, with their end (Unix ms; `None` for never).
#[derive(Message)]
#[rtype(result = "Vec<(String, Option<u64>)>")]
pub struct UserGroups {
    /// The user.
    pub user: String,
}

/// A registered long-polling session saw its first poll.
#[derive(Message)]
#[rtype(result = "()")]
pub struct TransportKnown {
    /// The connection.
    pub id: ConnectionId,
    /// Its transport.
    pub transport: TransportType,
}

impl Handler<ListConnections> for HubActor {
    type Result = MessageResult<ListConnections>;

    fn handle(&mut self, msg: ListConnections, _: &mut Self::Context) -> Self::Result {
        let mut ids = match (&msg.user, &msg.group) {
            (Some(user), _) => self.registry.recipients(&Scope::User(user.clone()), &[]),
            (None, Some(group)) => self.registry.recipients(&Scope::Group(group.clone()), &[]),
            (None, None) => self.registry.connection_ids(),
        };
        ids.sort_unstable_by(|a, b| a.as_str().cmp(b.as_str()));
        let after = msg.after.as_deref().unwrap_or("");
        let start = ids.partition_point(|id| id.as_str() <= after);
        let page = ids[start..]
            .iter()
            .filter_map(|id| {
                let entry = self.registry.get(id)?;
                if let Some(group) = &msg.group
                    && !entry.groups.contains(group)
                {
                    return None;
                }
                let mut groups: Vec<String> = entry.groups.iter().cloned().collect();
                groups.sort_unstable();
                Some(ConnectionSummary {
                    id: id.to_string(),
                    hub: self.name.to_string(),
                    user: entry.user.clone(),
                    node: id.owner().map(|n| n.to_string()).unwrap_or_default(),
                    transport: entry.sink.transport.map(|t| t.name().to_owned()),
                    protocol: entry.sink.protocol.name().to_owned(),
                    connected_at_ms: entry.sink.connected_at_ms,
                    groups,
                })
            })
            .take(msg.limit)
            .collect();
        MessageResult(page)
    }
}

impl Handler<TransportKnown> for HubActor {
    type Result = ();

    fn handle(&mut self, msg: TransportKnown, _: &mut Self::Context) {
        if let Some(entry) = self.registry.get_mut(&msg.id) {
            entry.sink.transport = Some(msg.transport);
        }
    }
}

impl Handler<TransportCounts> for HubActor {
    type Result = MessageResult<TransportCounts>;

    fn handle(&mut self, _: TransportCounts, _: &mut Self::Context) -> Self::Result {
        let mut counts = BTreeMap::new();
        for (_, entry) in self.registry.entries() {
            let name = entry.sink.transport.map_or("pending", TransportType::name);
            *counts.entry(name).or_insert(0) += 1;
        }
        MessageResult(counts)
    }
}

impl Handler<UserGroups> for HubActor {
    type Result = MessageResult<UserGroups>;

    fn handle(&mut self, msg: UserGroups, _: &mut Self::Context) -> Self::Result {
        let now = std::time::Instant::now();
        let now_ms = crate::metrics::unix_ms();
        let groups = self
            .registry
            .groups_of_user(&msg.user)
            .into_iter()
            .filter(|(_, expires)| expires.is_none_or(|t| t > now))
            .map(|(group, expires)| {
                let at_ms = expires.map(|t| now_ms + (t - now).as_millis() as u64);
                (group, at_ms)
            })
            .collect();
        MessageResult(groups)
    }
}
