//! [`Keys`]: the Redis key names of the cluster registry and its mirrors.
//!
//! Under the same prefix as [`Channels`](super::Channels), so one setting separates clusters
//! completely. Other code (and operators with `redis-cli`) rely on these exact shapes.

use super::DEFAULT_PREFIX;

/// Builds Redis key names under one prefix.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Keys {
    /// Prepended to every name, followed by `:`.
    prefix: String,
}

impl Default for Keys {
    fn default() -> Self {
        Self::new(DEFAULT_PREFIX)
    }
}

impl Keys {
    /// Key names under `prefix`.
    pub fn new(prefix: impl Into<String>) -> Self {
        Self {
            prefix: prefix.into(),
        }
    }

    /// The prefix every name starts with.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// `{prefix}:node:{id}`: a node's registry record (a JSON
    /// [`NodeRecord`](super::NodeRecord)), with a TTL the node keeps refreshing, so a dead node
    /// disappears on its own.
    pub fn node(&self, node_id: &str) -> String {
        format!("{}:node:{node_id}", self.prefix)
    }

    /// `{prefix}:nodes`: the set of node ids that have registered; entries whose record has
    /// expired are stale and get pruned.
    pub fn nodes(&self) -> String {
        format!("{}:nodes", self.prefix)
    }

    /// `{prefix}:n:{node}:h:{hub}:c`: hash of connection id → user id (empty when anonymous),
    /// mirroring the node's connections of `hub` for cluster-wide queries.
    pub fn node_hub_connections(&self, node_id: &str, hub: &str) -> String {
        format!("{}:n:{node_id}:h:{hub}:c", self.prefix)
    }

    /// `{prefix}:n:{node}:h:{hub}:u`: hash of user id → number of the node's connections of
    /// that user in `hub`.
    pub fn node_hub_users(&self, node_id: &str, hub: &str) -> String {
        format!("{}:n:{node_id}:h:{hub}:u", self.prefix)
    }

    /// `{prefix}:n:{node}:h:{hub}:g`: hash of group name → number of the node's connections in
    /// that group of `hub`.
    pub fn node_hub_groups(&self, node_id: &str, hub: &str) -> String {
        format!("{}:n:{node_id}:h:{hub}:g", self.prefix)
    }

    /// `{prefix}:h:{hub}:ug:{user}`: hash of group name → expiry in unix milliseconds (`0` for
    /// never): a user's persistent group membership, applied to each new connection of theirs.
    pub fn user_groups(&self, hub: &str, user: &str) -> String {
        format!("{}:h:{hub}:ug:{user}", self.prefix)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_exact() {
        let k = Keys::default();
        assert_eq!(k.prefix(), "herald");
        assert_eq!(k.node("node-1"), "herald:node:node-1");
        assert_eq!(k.nodes(), "herald:nodes");
        assert_eq!(k.node_hub_connections("n1", "chat"), "herald:n:n1:h:chat:c");
        assert_eq!(k.node_hub_users("n1", "chat"), "herald:n:n1:h:chat:u");
        assert_eq!(k.node_hub_groups("n1", "chat"), "herald:n:n1:h:chat:g");
        assert_eq!(k.user_groups("chat", "alice"), "herald:h:chat:ug:alice");
        assert_eq!(Keys::new("prod").nodes(), "prod:nodes");
        assert_eq!(Keys::new("prod").user_groups("h", "u"), "prod:h:h:ug:u");
    }
}
