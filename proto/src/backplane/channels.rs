//! [`Channels`]: the Redis pub/sub channel names of the backplane.
//!
//! Every name starts with a prefix (default [`DEFAULT_PREFIX`]) so that several clusters, or
//! clusters of incompatible versions, can share one Redis. Hub names and node ids cannot
//! contain `:` (see [`ids`](crate::ids)), so the part after the hub or node is unambiguous
//! whatever a group or user id contains. Names are only ever built, never parsed back.

use super::Target;

/// The prefix used when the operator configures none.
pub const DEFAULT_PREFIX: &str = "herald";

/// Builds channel names under one prefix. Other code relies on these exact shapes.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Channels {
    /// Prepended to every name, followed by `:`.
    prefix: String,
}

impl Default for Channels {
    fn default() -> Self {
        Self::new(DEFAULT_PREFIX)
    }
}

impl Channels {
    /// Channel names under `prefix`.
    pub fn new(prefix: impl Into<String>) -> Self {
        Self {
            prefix: prefix.into(),
        }
    }

    /// The prefix every name starts with.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// `{prefix}:h:{hub}:all`: broadcasts to every connection of `hub`.
    pub fn hub_all(&self, hub: &str) -> String {
        format!("{}:h:{hub}:all", self.prefix)
    }

    /// `{prefix}:h:{hub}:g:{group}`: messages to one group of `hub`.
    pub fn group(&self, hub: &str, group: &str) -> String {
        format!("{}:h:{hub}:g:{group}", self.prefix)
    }

    /// `{prefix}:h:{hub}:u:{user}`: messages to one user of `hub`.
    pub fn user(&self, hub: &str, user: &str) -> String {
        format!("{}:h:{hub}:u:{user}", self.prefix)
    }

    /// `{prefix}:n:{node}`: messages for one node (connection-targeted deliveries, commands
    /// and replies).
    pub fn node(&self, node_id: &str) -> String {
        format!("{}:n:{node_id}", self.prefix)
    }

    /// The channel a delivery to `target` in `hub` is published on. A connection's messages go
    /// to its owner's node channel; `owner_of_connection` finds the owner (normally
    /// [`ConnectionId::owner`](crate::ids::ConnectionId::owner)), and `None` from it — an id
    /// that names no node — means there is nowhere to publish.
    pub fn for_target(
        &self,
        hub: &str,
        target: &Target,
        owner_of_connection: impl Fn(&str) -> Option<String>,
    ) -> Option<String> {
        Some(match target {
            Target::All => self.hub_all(hub),
            Target::User(user) => self.user(hub, user),
            Target::Group(group) => self.group(hub, group),
            Target::Connection(connection) => self.node(&owner_of_connection(connection)?),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::ConnectionId;

    #[test]
    fn names_are_exact() {
        let c = Channels::default();
        assert_eq!(c.prefix(), "herald");
        assert_eq!(c.hub_all("chat"), "herald:h:chat:all");
        assert_eq!(c.group("chat", "room:1"), "herald:h:chat:g:room:1");
        assert_eq!(c.user("chat", "alice"), "herald:h:chat:u:alice");
        assert_eq!(c.node("node-1"), "herald:n:node-1");
        let custom = Channels::new("prod");
        assert_eq!(custom.hub_all("chat"), "prod:h:chat:all");
        assert_eq!(custom.node("a"), "prod:n:a");
    }

    #[test]
    fn targets_map_to_their_channels() {
        let c = Channels::default();
        let owner = |id: &str| {
            id.parse::<ConnectionId>()
                .ok()
                .and_then(|id| id.owner())
                .map(|node| node.to_string())
        };
        let channel = |target: Target| c.for_target("chat", &target, owner);
        assert_eq!(channel(Target::All).as_deref(), Some("herald:h:chat:all"));
        assert_eq!(
            channel(Target::User("bob".into())).as_deref(),
            Some("herald:h:chat:u:bob")
        );
        assert_eq!(
            channel(Target::Group("g".into())).as_deref(),
            Some("herald:h:chat:g:g")
        );
        assert_eq!(
            channel(Target::Connection("abc.node-2".into())).as_deref(),
            Some("herald:n:node-2")
        );
        assert_eq!(channel(Target::Connection("no-owner".into())), None);
    }
}
