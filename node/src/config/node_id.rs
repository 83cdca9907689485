//! The default node id: the host name when it makes a valid id, else a random one.

use herald_proto::ids::{MAX_NODE_ID_LEN, NodeId};
use rand::Rng;

/// The id derived from `hostname` (lowercased, other characters turned into '-', cut to
/// 63), or a random `herald-xxxxxx` when there is no usable host name.
pub(crate) fn derive(hostname: Option<&str>) -> NodeId {
    hostname.and_then(from_hostname).unwrap_or_else(random)
}

fn from_hostname(hostname: &str) -> Option<NodeId> {
    let cleaned: String = hostname
        .trim()
        .chars()
        .map(|c| {
            let c = c.to_ascii_lowercase();
            if c.is_ascii_lowercase() || c.is_ascii_digit() {
                c
            } else {
                '-'
            }
        })
        .take(MAX_NODE_ID_LEN)
        .collect();
    cleaned.trim_matches('-').parse().ok()
}

/// `herald-` and six random lowercase letters and digits.
pub(crate) fn random() -> NodeId {
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    let mut rng = rand::rng();
    let suffix: String = (0..6)
        .map(|_| char::from(ALPHABET[rng.random_range(0..ALPHABET.len())]))
        .collect();
    NodeId::try_from(format!("herald-{suffix}"))
        .unwrap_or_else(|_| unreachable!("letters and digits after \"herald-\" form a valid id"))
}

#[cfg(test)]
mod tests {
    use super::derive;

    #[test]
    fn hostnames_become_dns_labels() {
        assert_eq!(derive(Some("herald-0")).as_str(), "herald-0");
        assert_eq!(
            derive(Some("Web01.Example.COM")).as_str(),
            "web01-example-com"
        );
        assert_eq!(derive(Some("_pod_name_")).as_str(), "pod-name");
        let long = "a".repeat(62) + ".b";
        assert_eq!(derive(Some(&long)).as_str(), "a".repeat(62));
        let id = derive(Some(&"x".repeat(100)));
        assert_eq!(id.as_str().len(), 63);
    }

    #[test]
    fn no_usable_hostname_gives_a_random_id() {
        for hostname in [None, Some(""), Some("---"), Some("ÄÖÜ")] {
            let id = derive(hostname);
            let suffix = id.as_str().strip_prefix("herald-").unwrap();
            assert_eq!(suffix.len(), 6);
            assert!(
                suffix
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
            );
        }
    }
}
