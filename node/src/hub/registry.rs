//! The connection, user and group registry of one hub, as plain data.
//!
//! No I/O and no clock: callers pass `now`. The hub actor owns one registry and asks it who
//! should receive a message; the registry never talks to sessions itself. `S` is whatever the
//! owner needs per connection to reach it (a session link in the server, `()` in tests).

use std::collections::{HashMap, HashSet};
use std::time::Instant;

use herald_proto::ids::ConnectionId;

/// Who a message is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// Every connection of the hub.
    All,
    /// Every connection of one user.
    User(String),
    /// Every connection that is a member of the group.
    Group(String),
    /// One connection.
    Connection(ConnectionId),
}

impl Scope {
    /// `all`, `user`, `group` or `connection`, for spans and logs.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::All => "all",
            Self::User(_) => "user",
            Self::Group(_) => "group",
            Self::Connection(_) => "connection",
        }
    }
}

/// One connected client.
#[derive(Debug)]
pub struct Entry<S> {
    /// The user id from the client's token; `None` for anonymous clients.
    pub user: Option<String>,
    /// Groups this connection is a member of, so removal is O(groups of this connection).
    pub groups: HashSet<String>,
    /// How to reach the connection.
    pub sink: S,
}

/// A persistent user-group membership: applied to the user's connections, now and future.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct UserGroup {
    /// When the membership ends (`None`: until removed).
    expires: Option<Instant>,
}

/// The registry was asked about a connection it does not hold.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("connection {0} is not connected to this hub")]
pub struct UnknownConnection(pub ConnectionId);

/// Connections, users and groups of one hub.
#[derive(Debug)]
pub struct Registry<S> {
    /// Every live connection.
    connections: HashMap<ConnectionId, Entry<S>>,
    /// User id → that user's connections, for user-targeted sends.
    users: HashMap<String, HashSet<ConnectionId>>,
    /// Group → member connections; a group exists while it has members.
    groups: HashMap<String, HashSet<ConnectionId>>,
    /// User id → groups the user belongs to, independent of connections.
    user_groups: HashMap<String, HashMap<String, UserGroup>>,
}

impl<S> Default for Registry<S> {
    fn default() -> Self {
        Self {
            connections: HashMap::new(),
            users: HashMap::new(),
            groups: HashMap::new(),
            user_groups: HashMap::new(),
        }
    }
}

impl<S> Registry<S> {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a connection and joins it to its user's persistent groups that have not expired.
    /// Returns the groups it joined. Re-adding an id replaces the old entry.
    pub fn add_connection(
        &mut self,
        id: ConnectionId,
        user: Option<String>,
        sink: S,
        now: Instant,
    ) -> Vec<String> {
        self.remove_connection(&id);
        let mut entry = Entry {
            user: user.clone(),
            groups: HashSet::new(),
            sink,
        };
        let mut joined = Vec::new();
        if let Some(user) = &user {
            self.users
                .entry(user.clone())
                .or_default()
                .insert(id.clone());
            if let Some(groups) = self.user_groups.get(user) {
                for (group, membership) in groups {
                    if membership.expires.is_none_or(|t| t > now) {
                        entry.groups.insert(group.clone());
                        self.groups
                            .entry(group.clone())
                            .or_default()
                            .insert(id.clone());
                        joined.push(group.clone());
                    }
                }
            }
        }
        joined.sort();
        self.connections.insert(id, entry);
        joined
    }

    /// Removes a connection from the hub, its user and all its groups.
    pub fn remove_connection(&mut self, id: &ConnectionId) -> Option<Entry<S>> {
        let entry = self.connections.remove(id)?;
        if let Some(user) = &entry.user {
            remove_member(&mut self.users, user, id);
        }
        for group in &entry.groups {
            remove_member(&mut self.groups, group, id);
        }
        Some(entry)
    }

    /// Adds a connection to a group. `Ok(false)` when it already was a member.
    pub fn add_to_group(
        &mut self,
        id: &ConnectionId,
        group: &str,
    ) -> Result<bool, UnknownConnection> {
        let entry = self
            .connections
            .get_mut(id)
            .ok_or_else(|| UnknownConnection(id.clone()))?;
        if !entry.groups.insert(group.to_owned()) {
            return Ok(false);
        }
        self.groups
            .entry(group.to_owned())
            .or_default()
            .insert(id.clone());
        Ok(true)
    }

    /// Removes a connection from a group. `Ok(false)` when it was not a member.
    pub fn remove_from_group(
        &mut self,
        id: &ConnectionId,
        group: &str,
    ) -> Result<bool, UnknownConnection> {
        let entry = self
            .connections
            .get_mut(id)
            .ok_or_else(|| UnknownConnection(id.clone()))?;
        if !entry.groups.remove(group) {
            return Ok(false);
        }
        remove_member(&mut self.groups, group, id);
        Ok(true)
    }

    /// Removes a connection from every group it is in; returns how many.
    pub fn remove_from_all_groups(
        &mut self,
        id: &ConnectionId,
    ) -> Result<usize, UnknownConnection> {
        let entry = self
            .connections
            .get_mut(id)
            .ok_or_else(|| UnknownConnection(id.clone()))?;
        let groups = std::mem::take(&mut entry.groups);
        for group in &groups {
            remove_member(&mut self.groups, group, id);
        }
        Ok(groups.len())
    }

    /// Makes `user` a member of `group` until `expires` (or until removed): every current
    /// connection of the user joins now, future ones join when they connect.
    pub fn add_user_to_group(&mut self, user: &str, group: &str, expires: Option<Instant>) {
        self.user_groups
            .entry(user.to_owned())
            .or_default()
            .insert(group.to_owned(), UserGroup { expires });
        let ids: Vec<ConnectionId> = self
            .users
            .get(user)
            .map(|s| s.iter().cloned().collect())
            .unwrap_or_default();
        for id in ids {
            // The ids come from `users`, which only holds live connections.
            let _ = self.add_to_group(&id, group);
        }
    }

    /// Ends `user`'s membership of `group` and removes the user's connections from it.
    /// Returns whether the user had a persistent membership or a connection in the group.
    pub fn remove_user_from_group(&mut self, user: &str, group: &str) -> bool {
        let mut changed = false;
        if let Some(groups) = self.user_groups.get_mut(user) {
            changed |= groups.remove(group).is_some();
            if groups.is_empty() {
                self.user_groups.remove(user);
            }
        }
        let ids: Vec<ConnectionId> = self
            .users
            .get(user)
            .map(|s| s.iter().cloned().collect())
            .unwrap_or_default();
        for id in ids {
            changed |= self.remove_from_group(&id, group).unwrap_or(false);
        }
        changed
    }

    /// Ends all of `user`'s group memberships, persistent and per connection.
    pub fn remove_user_from_all_groups(&mut self, user: &str) {
        self.user_groups.remove(user);
        let ids: Vec<ConnectionId> = self
            .users
            .get(user)
            .map(|s| s.iter().cloned().collect())
            .unwrap_or_default();
        for id in ids {
            let _ = self.remove_from_all_groups(&id);
        }
    }

    /// Drops user-group memberships that expired at or before `now`, removing the users'
    /// connections from those groups. Returns how many memberships expired.
    pub fn expire_user_groups(&mut self, now: Instant) -> usize {
        let mut expired = Vec::new();
        for (user, groups) in &self.user_groups {
            for (group, membership) in groups {
                if membership.expires.is_some_and(|t| t <= now) {
                    expired.push((user.clone(), group.clone()));
                }
            }
        }
        for (user, group) in &expired {
            self.remove_user_from_group(user, group);
        }
        expired.len()
    }

    /// Whether the user belongs to the group: a (non-expired) persistent membership, or one of
    /// the user's connections was added to it.
    pub fn user_in_group(&self, user: &str, group: &str, now: Instant) -> bool {
        let persistent = self
            .user_groups
            .get(user)
            .and_then(|g| g.get(group))
            .is_some_and(|m| m.expires.is_none_or(|t| t > now));
        persistent
            || self.users.get(user).is_some_and(|ids| {
                ids.iter().any(|id| {
                    self.connections
                        .get(id)
                        .is_some_and(|e| e.groups.contains(group))
                })
            })
    }

    /// Whether the connection is connected to this hub.
    pub fn has_connection(&self, id: &ConnectionId) -> bool {
        self.connections.contains_key(id)
    }

    /// Whether the user has at least one connection.
    pub fn has_user(&self, user: &str) -> bool {
        self.users.contains_key(user)
    }

    /// Whether the group has at least one member connection.
    pub fn has_group(&self, group: &str) -> bool {
        self.groups.contains_key(group)
    }

    /// The entry of one connection.
    pub fn get_mut(&mut self, id: &ConnectionId) -> Option<&mut Entry<S>> {
        self.connections.get_mut(id)
    }

    /// The persistent groups of `user` with their end (`None`: until removed).
    pub fn groups_of_user(&self, user: &str) -> Vec<(String, Option<Instant>)> {
        self.user_groups
            .get(user)
            .map(|groups| {
                groups
                    .iter()
                    .map(|(group, membership)| (group.clone(), membership.expires))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Every connection with its entry, in no order.
    pub fn entries(&self) -> impl Iterator<Item = (&ConnectionId, &Entry<S>)> {
        self.connections.iter()
    }

    /// The entry of a connection.
    pub fn get(&self, id: &ConnectionId) -> Option<&Entry<S>> {
        self.connections.get(id)
    }

    /// Visits every recipient of a message for `scope`, skipping `excluded` ids.
    pub fn for_each_recipient(
        &self,
        scope: &Scope,
        excluded: &[ConnectionId],
        mut visit: impl FnMut(&ConnectionId, &Entry<S>),
    ) {
        let mut visit_id = |id: &ConnectionId| {
            if !excluded.contains(id)
                && let Some(entry) = self.connections.get(id)
            {
                visit(id, entry);
            }
        };
        match scope {
            Scope::All => {
                for (id, entry) in &self.connections {
                    if !excluded.contains(id) {
                        visit(id, entry);
                    }
                }
            }
            Scope::User(user) => self
                .users
                .get(user)
                .into_iter()
                .flatten()
                .for_each(&mut visit_id),
            Scope::Group(group) => self
                .groups
                .get(group)
                .into_iter()
                .flatten()
                .for_each(&mut visit_id),
            Scope::Connection(id) => visit_id(id),
        }
    }

    /// The ids of every recipient for `scope` (a convenience for control paths and tests).
    pub fn recipients(&self, scope: &Scope, excluded: &[ConnectionId]) -> Vec<ConnectionId> {
        let mut ids = Vec::new();
        self.for_each_recipient(scope, excluded, |id, _| ids.push(id.clone()));
        ids.sort();
        ids
    }

    /// The groups that have at least one member.
    pub fn group_names(&self) -> HashSet<String> {
        self.groups.keys().cloned().collect()
    }

    /// All connection ids.
    pub fn connection_ids(&self) -> Vec<ConnectionId> {
        self.connections.keys().cloned().collect()
    }

    /// Number of connections.
    pub fn connection_count(&self) -> usize {
        self.connections.len()
    }

    /// Number of groups with at least one member.
    pub fn group_count(&self) -> usize {
        self.groups.len()
    }

    /// Number of users with at least one connection.
    pub fn user_count(&self) -> usize {
        self.users.len()
    }
}

fn remove_member(index: &mut HashMap<String, HashSet<ConnectionId>>, key: &str, id: &ConnectionId) {
    if let Some(members) = index.get_mut(key) {
        members.remove(id);
        if members.is_empty() {
            index.remove(key);
        }
    }
}

#[cfg(test)]
#[path = "registry_tests.rs"]
mod tests;
