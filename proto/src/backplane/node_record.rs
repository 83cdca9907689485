//! [`NodeRecord`]: what a node registers about itself in Redis.
//!
//! Stored as JSON under [`Keys::node`](super::Keys::node) so operators can read it with
//! `redis-cli GET`, and so adding a field later does not break older readers (unknown fields
//! are ignored).

use serde::{Deserialize, Serialize};

/// One node's registry entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeRecord {
    /// The node id, as in its connection ids and its node channel.
    pub id: String,
    /// The internal base URL other nodes forward requests to (e.g. a client that negotiated
    /// with one node but must reach the node owning its connection).
    pub url: String,
    /// The base URL of the node's admin endpoints (health, metrics), for operators and tools.
    pub admin_url: String,
    /// When the node started (unix milliseconds), to tell a restart from a long-lived node.
    pub started_at_ms: u64,
    /// The Herald version the node runs, to spot mixed-version clusters.
    pub version: String,
    /// The node is shutting down: coordinators move its leases away at once instead of waiting
    /// for its record to expire. Written only when true.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub draining: bool,
}

impl NodeRecord {
    /// The record as a compact JSON object.
    pub fn to_json(&self) -> String {
        // Serializing a struct of strings and integers to JSON cannot fail.
        serde_json::to_string(self).unwrap_or_default()
    }

    /// Parses a record written by [`NodeRecord::to_json`] (or by a newer node with more
    /// fields).
    ///
    /// # Errors
    /// When `json` is not an object with the fields of a record.
    pub fn from_json(json: &str) -> Result<Self, serde_json::Error> {
        serde_json::from_str(json)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record() -> NodeRecord {
        NodeRecord {
            id: "node-1".into(),
            url: "http://10.0.0.1:8080".into(),
            admin_url: "http://10.0.0.1:9090".into(),
            started_at_ms: 1_700_000_000_000,
            version: "0.1.0".into(),
            draining: false,
        }
    }

    #[test]
    fn json_is_exact_and_round_trips() {
        let json = record().to_json();
        assert_eq!(
            json,
            r#"{"id":"node-1","url":"http://10.0.0.1:8080","admin_url":"http://10.0.0.1:9090","started_at_ms":1700000000000,"version":"0.1.0"}"#
        );
        assert_eq!(NodeRecord::from_json(&json).unwrap(), record());
        let draining = NodeRecord {
            draining: true,
            ..record()
        };
        assert!(
            draining
                .to_json()
                .ends_with(r#""version":"0.1.0","draining":true}"#)
        );
        assert_eq!(
            NodeRecord::from_json(&draining.to_json()).unwrap(),
            draining
        );
    }

    #[test]
    fn unknown_fields_are_ignored_and_missing_ones_rejected() {
        let newer = r#"{"id":"node-1","url":"http://10.0.0.1:8080","admin_url":"http://10.0.0.1:9090","started_at_ms":1700000000000,"version":"0.1.0","zone":"a"}"#;
        assert_eq!(NodeRecord::from_json(newer).unwrap(), record());
        assert!(NodeRecord::from_json(r#"{"id":"node-1"}"#).is_err());
        assert!(NodeRecord::from_json("not json").is_err());
    }
}
