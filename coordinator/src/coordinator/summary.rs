//! The assignment summary the leader publishes after changing leases.
//!
//! Nodes subscribe to `<prefix>:assignments` and, on a message, look up the leases naming
//! them. The summary carries the whole (small) table so a node can act on it without a read;
//! nodes also re-read the table periodically, so a missed message only delays convergence.

use serde::Serialize;

use crate::lease_store::LeaseRecord;

/// The channel the summaries go to: `<prefix>:assignments`, beside the node registry keys.
pub fn assignments_channel(prefix: &str) -> String {
    format!("{prefix}:assignments")
}

/// One published message.
#[derive(Debug, Serialize)]
pub(crate) struct Summary<'a> {
    /// The fencing token of the leader that wrote the moves; higher tokens are newer.
    pub token: u64,
    /// How many leases changed hands in this tick.
    pub moved: usize,
    /// Every lease after the moves.
    pub leases: Vec<Entry<'a>>,
}

/// One lease in a [`Summary`].
#[derive(Debug, Serialize)]
pub(crate) struct Entry<'a> {
    pub id: &'a str,
    pub owner: Option<&'a str>,
    pub epoch: u64,
}

impl<'a> Summary<'a> {
    /// The summary of `leases` as written by the leader holding `token`.
    pub(crate) fn new(token: u64, moved: usize, leases: &'a [LeaseRecord]) -> Self {
        let leases = leases
            .iter()
            .map(|l| Entry {
                id: &l.id,
                owner: l.owner.as_deref(),
                epoch: l.epoch,
            })
            .collect();
        Self {
            token,
            moved,
            leases,
        }
    }

    /// The summary as compact JSON.
    pub(crate) fn to_json(&self) -> String {
        // Strings, integers and options only: serializing cannot fail.
        serde_json::to_string(self).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_shape() {
        let leases = [LeaseRecord {
            id: "stocks/0".into(),
            owner: Some("n1".into()),
            epoch: 3,
            checkpoint: Some("9".into()),
            updated_at_ms: 5,
        }];
        assert_eq!(
            Summary::new(7, 1, &leases).to_json(),
            r#"{"token":7,"moved":1,"leases":[{"id":"stocks/0","owner":"n1","epoch":3}]}"#
        );
        assert_eq!(assignments_channel("prod"), "prod:assignments");
    }
}
