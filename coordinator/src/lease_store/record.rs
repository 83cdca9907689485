//! One lease as stored: its hash fields parsed into a [`LeaseRecord`].

use std::collections::HashMap;

use super::LeaseError;

/// One lease (a `(feed, partition)` pair) and who reads it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct LeaseRecord {
    /// `<feed>/<partition>`.
    pub id: String,
    /// The node reading it; `None` while unassigned.
    pub owner: Option<String>,
    /// Bumped by every assignment; a node's checkpoint is accepted only under the epoch it
    /// was assigned with, which fences off stale owners.
    pub epoch: u64,
    /// The last position the owner reported; `None` before the first checkpoint.
    pub checkpoint: Option<String>,
    /// Redis server time (ms since the Unix epoch) of the last write, so every writer
    /// shares one clock.
    pub updated_at_ms: u64,
}

impl LeaseRecord {
    /// Parses `HGETALL` output; an empty map means the hash does not exist (`None`).
    pub(crate) fn from_fields(
        id: &str,
        mut fields: HashMap<String, String>,
    ) -> Result<Option<Self>, LeaseError> {
        if fields.is_empty() {
            return Ok(None);
        }
        Ok(Some(Self {
            id: id.to_owned(),
            owner: fields.remove("owner"),
            epoch: number(id, "epoch", fields.remove("epoch"))?,
            checkpoint: fields.remove("checkpoint"),
            updated_at_ms: number(id, "updated_at_ms", fields.remove("updated_at_ms"))?,
        }))
    }
}

/// A numeric field; a missing one reads as 0 (older or hand-made hashes).
fn number(id: &str, what: &'static str, value: Option<String>) -> Result<u64, LeaseError> {
    match value {
        None => Ok(0),
        Some(text) => text.parse().map_err(|_| LeaseError::Malformed {
            id: id.to_owned(),
            what,
            value: text,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn parses_all_fields() {
        let record = LeaseRecord::from_fields(
            "f/0",
            map(&[
                ("owner", "n1"),
                ("epoch", "7"),
                ("checkpoint", "42"),
                ("updated_at_ms", "1000"),
            ]),
        );
        let expected = LeaseRecord {
            id: "f/0".into(),
            owner: Some("n1".into()),
            epoch: 7,
            checkpoint: Some("42".into()),
            updated_at_ms: 1000,
        };
        assert_eq!(record.ok().flatten(), Some(expected));
    }

    #[test]
    fn empty_hash_is_absent_and_bad_numbers_are_errors() {
        assert!(matches!(
            LeaseRecord::from_fields("f/0", HashMap::new()),
            Ok(None)
        ));
        assert!(matches!(
            LeaseRecord::from_fields("f/0", map(&[("epoch", "x")])),
            Err(LeaseError::Malformed { what: "epoch", .. })
        ));
    }
}
