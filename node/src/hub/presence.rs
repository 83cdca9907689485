//! What the rest of the cluster learns when a hub's local population changes: the node
//! subscribes to a scope's channel while it has recipients for it (the hub's `all` channel
//! while it has any connection, a user's channel while it has that user's connections, a
//! group's channel while the group has local members), and mirrors presence in Redis for
//! existence checks from other nodes.

use herald_proto::ids::HubName;

use crate::cluster::Cluster;
use crate::cluster::store::MirrorOp;

/// Subscriptions and mirror of one hub on this node.
pub struct Presence {
    cluster: Cluster,
    hub: HubName,
}

impl Presence {
    /// Presence tracking for `hub`.
    pub fn new(cluster: Cluster, hub: HubName) -> Self {
        Self { cluster, hub }
    }

    /// The cluster link (for requests the hub makes itself).
    pub fn cluster(&self) -> &Cluster {
        &self.cluster
    }

    fn mirror(&self, op: MirrorOp) {
        if let Some(store) = self.cluster.store() {
            store.mirror(op);
        }
    }

    /// The hub got its first local connection (`true`) or lost its last (`false`).
    pub fn hub(&self, present: bool) {
        let channel = self.cluster.channels().hub_all(self.hub.as_str());
        if present {
            self.cluster.subscribe(&channel);
        } else {
            self.cluster.unsubscribe(&channel);
        }
    }

    /// A connection registered (`user` is its user) or left.
    pub fn connection(&self, connection: &str, user: Option<&str>, present: bool) {
        let hub = self.hub.to_string();
        let connection = connection.to_owned();
        self.mirror(if present {
            MirrorOp::Connected {
                hub,
                connection,
                user: user.map(str::to_owned),
            }
        } else {
            MirrorOp::Disconnected { hub, connection }
        });
    }

    /// A user got its first local connection or lost its last.
    pub fn user(&self, user: &str, present: bool) {
        let channel = self.cluster.channels().user(self.hub.as_str(), user);
        let (hub, user) = (self.hub.to_string(), user.to_owned());
        if present {
            self.cluster.subscribe(&channel);
            self.mirror(MirrorOp::UserPresent { hub, user });
        } else {
            self.cluster.unsubscribe(&channel);
            self.mirror(MirrorOp::UserGone { hub, user });
        }
    }

    /// A group got its first local member or lost its last.
    pub fn group(&self, group: &str, present: bool) {
        let channel = self.cluster.channels().group(self.hub.as_str(), group);
        let (hub, group) = (self.hub.to_string(), group.to_owned());
        if present {
            self.cluster.subscribe(&channel);
            self.mirror(MirrorOp::GroupPresent { hub, group });
        } else {
            self.cluster.unsubscribe(&channel);
            self.mirror(MirrorOp::GroupGone { hub, group });
        }
    }
}
