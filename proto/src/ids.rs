//! Validated names shared by every crate: hubs, nodes and connections.
//!
//! A connection id names the node that owns the connection (`<random>.<node>`), so a message
//! targeted at one connection can be routed to exactly one node without a lookup.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Longest hub name accepted (Azure SignalR Service allows 128 characters).
pub const MAX_HUB_NAME_LEN: usize = 128;
/// Longest node id: a DNS label, so a Kubernetes pod name fits.
pub const MAX_NODE_ID_LEN: usize = 63;
/// Longest connection id accepted from outside (REST paths, admin queries).
pub const MAX_CONNECTION_ID_LEN: usize = 256;

/// Why a name was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    #[error(
        "invalid hub name {0:?}: it must start with a letter and contain only letters, digits and '_' (at most 128 characters)"
    )]
    Hub(String),
    #[error(
        "invalid node id {0:?}: use 1-63 lowercase letters, digits and '-', starting and ending with a letter or digit"
    )]
    Node(String),
    #[error("invalid connection id {0:?}: it must be 1-256 visible ASCII characters")]
    Connection(String),
}

macro_rules! string_newtype {
    ($name:ident, $validate:path) => {
        impl $name {
            /// The name as a string slice.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl FromStr for $name {
            type Err = NameError;
            fn from_str(s: &str) -> Result<Self, NameError> {
                $validate(s)?;
                Ok(Self(s.to_owned()))
            }
        }

        impl TryFrom<String> for $name {
            type Error = NameError;
            fn try_from(s: String) -> Result<Self, NameError> {
                $validate(&s)?;
                Ok(Self(s))
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(&self.0)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = String::deserialize(d)?;
                Self::try_from(s).map_err(serde::de::Error::custom)
            }
        }
    };
}

/// A hub name, as in `/client/?hub=chat` or `/api/v1/hubs/chat`. Case-sensitive.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct HubName(String);
string_newtype!(HubName, validate_hub);

fn validate_hub(s: &str) -> Result<(), NameError> {
    let mut chars = s.chars();
    let ok = s.len() <= MAX_HUB_NAME_LEN
        && chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_');
    if ok {
        Ok(())
    } else {
        Err(NameError::Hub(s.to_owned()))
    }
}

/// The id of one node of the cluster; part of every connection id the node hands out.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NodeId(String);
string_newtype!(NodeId, validate_node);

fn validate_node(s: &str) -> Result<(), NameError> {
    let bytes = s.as_bytes();
    let ok = !bytes.is_empty()
        && bytes.len() <= MAX_NODE_ID_LEN
        && bytes
            .iter()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'-')
        && bytes[0] != b'-'
        && bytes[bytes.len() - 1] != b'-';
    if ok {
        Ok(())
    } else {
        Err(NameError::Node(s.to_owned()))
    }
}

/// A connection id: public, safe to log and to hand to application servers.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ConnectionId(String);
string_newtype!(ConnectionId, validate_connection);

fn validate_connection(s: &str) -> Result<(), NameError> {
    let ok = !s.is_empty()
        && s.len() <= MAX_CONNECTION_ID_LEN
        && s.bytes().all(|b| b.is_ascii_graphic());
    if ok {
        Ok(())
    } else {
        Err(NameError::Connection(s.to_owned()))
    }
}

const BASE64URL: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// Encodes random bytes as unpadded base64url (the caller supplies the randomness).
pub fn base64url(random: &[u8]) -> String {
    let mut out = String::with_capacity(random.len() * 4 / 3 + 3);
    for chunk in random.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |acc, (i, b)| acc | (u32::from(*b) << (16 - 8 * i)));
        let chars = chunk.len() + 1;
        for i in 0..chars {
            out.push(BASE64URL[((n >> (18 - 6 * i)) & 63) as usize] as char);
        }
    }
    out
}

impl ConnectionId {
    /// A fresh id owned by `node`: 128 random bits, then `.`, then the node id.
    pub fn generate(node: &NodeId, random: [u8; 16]) -> Self {
        Self(format!("{}.{}", base64url(&random), node))
    }

    /// The node that handed out this id, when the id has Herald's shape.
    pub fn owner(&self) -> Option<NodeId> {
        let (_, node) = self.0.split_once('.')?;
        node.parse().ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hub_names_follow_azure_rules() {
        assert!("chat".parse::<HubName>().is_ok());
        assert!("Chat_2".parse::<HubName>().is_ok());
        assert!("2chat".parse::<HubName>().is_err());
        assert!("".parse::<HubName>().is_err());
        assert!("chat-room".parse::<HubName>().is_err());
        assert!("a".repeat(129).parse::<HubName>().is_err());
        assert!("a".repeat(128).parse::<HubName>().is_ok());
    }

    #[test]
    fn node_ids_are_dns_labels() {
        assert!("herald-0".parse::<NodeId>().is_ok());
        assert!("n1".parse::<NodeId>().is_ok());
        assert!("-n1".parse::<NodeId>().is_err());
        assert!("n1-".parse::<NodeId>().is_err());
        assert!("N1".parse::<NodeId>().is_err());
        assert!("a.b".parse::<NodeId>().is_err());
        assert!("a".repeat(64).parse::<NodeId>().is_err());
    }

    #[test]
    fn connection_ids_name_their_owner() {
        let node: NodeId = "herald-1".parse().unwrap();
        let id = ConnectionId::generate(&node, [0xAB; 16]);
        assert_eq!(id.as_str(), "q6urq6urq6urq6urq6urqw.herald-1");
        assert_eq!(id.owner(), Some(node));
        let foreign: ConnectionId = "abc".parse().unwrap();
        assert_eq!(foreign.owner(), None);
        assert!("has space".parse::<ConnectionId>().is_err());
    }

    #[test]
    fn base64url_matches_rfc4648() {
        assert_eq!(base64url(b""), "");
        assert_eq!(base64url(b"f"), "Zg");
        assert_eq!(base64url(b"fo"), "Zm8");
        assert_eq!(base64url(b"foo"), "Zm9v");
        assert_eq!(base64url(b"foobar"), "Zm9vYmFy");
        assert_eq!(base64url(&[0xfb, 0xff]), "-_8");
    }
}
