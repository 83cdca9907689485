//! Redis key names of the coordinator: leases, the lease index, the leader key and the
//! fencing-token counter.
//!
//! Every key starts with the hash tag `{prefix}`, so all of them live in one Redis Cluster slot.
//! That is what lets one Lua script read the leader key *and* write a lease atomically (the
//! fencing check of `assign`); per-lease hash tags would make that script fail with CROSSSLOT.
//! Lease traffic (assignments and checkpoints) is small, so one slot carries it easily.

/// The prefix used when the caller passes none (or an empty one).
pub const DEFAULT_PREFIX: &str = "herald";

/// The coordinator's key names under one prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Keys {
    /// `{prefix}`: the hash tag every key starts with.
    tag: String,
}

impl Keys {
    /// Key names under `prefix`; an empty prefix means [`DEFAULT_PREFIX`], because an empty
    /// hash tag `{}` would scatter the keys over slots.
    pub(crate) fn new(prefix: &str) -> Self {
        let prefix = if prefix.is_empty() {
            DEFAULT_PREFIX
        } else {
            prefix
        };
        Self {
            tag: format!("{{{prefix}}}"),
        }
    }

    /// The hash of one lease: `owner`, `epoch`, `checkpoint`, `updated_at_ms`.
    pub(crate) fn lease(&self, id: &str) -> String {
        format!("{}:lease:{id}", self.tag)
    }

    /// The set of all lease ids.
    pub(crate) fn leases(&self) -> String {
        format!("{}:leases", self.tag)
    }

    /// The leader key, holding `<candidate_id>:<token>` with a TTL.
    pub(crate) fn leader(&self) -> String {
        format!("{}:coordinator:leader", self.tag)
    }

    /// When the current leadership began (Redis server time, Unix ms), written on acquire.
    pub(crate) fn leader_since(&self) -> String {
        format!("{}:coordinator:leader_since", self.tag)
    }

    /// The counter handing out fencing tokens (`INCR`, never expires).
    pub(crate) fn epoch(&self) -> String {
        format!("{}:coordinator:epoch", self.tag)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn all_keys_share_the_prefix_hash_tag() {
        let keys = Keys::new("herald");
        assert_eq!(keys.lease("orders/3"), "{herald}:lease:orders/3");
        assert_eq!(keys.leases(), "{herald}:leases");
        assert_eq!(keys.leader(), "{herald}:coordinator:leader");
        assert_eq!(keys.epoch(), "{herald}:coordinator:epoch");
    }

    #[test]
    fn empty_prefix_falls_back_to_the_default() {
        assert_eq!(Keys::new(""), Keys::new(DEFAULT_PREFIX));
    }
}
