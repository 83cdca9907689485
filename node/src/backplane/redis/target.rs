//! Which Redis deployment to use, parsed from `redis.url`.
//!
//! - `redis://[user:password@]host:port[/db]` (or `rediss://`): one server;
//! - `redis+cluster://[user:password@]host1:port,host2:port`: a Redis Cluster, seeded from the
//!   listed nodes (sharded pub/sub);
//! - `redis+sentinel://[user:password@]host1:port,host2:port/master-name[/db]`: Sentinels that
//!   name the current master of `master-name`.

use std::fmt;
use std::str::FromStr;

/// A parsed `redis.url`.
#[derive(Clone, PartialEq, Eq)]
pub enum RedisTarget {
    /// One server (or a proxy), as a `redis://` URL the crate understands.
    Standalone(String),
    /// Cluster seed nodes, each as a `redis://` URL.
    Cluster(Vec<String>),
    /// Sentinel nodes (as `redis://` URLs), the master's name and the database.
    Sentinel {
        sentinels: Vec<String>,
        master: String,
        db: i64,
    },
}

/// Why a `redis.url` was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "{0}; write redis://host:6379, redis+cluster://host1:7000,host2:7001 or redis+sentinel://host1:26379,host2:26379/mymaster"
)]
pub struct RedisTargetError(String);

impl FromStr for RedisTarget {
    type Err = RedisTargetError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        let (scheme, rest) = s
            .split_once("://")
            .ok_or_else(|| RedisTargetError("missing scheme".into()))?;
        let (auth, rest) = match rest.rsplit_once('@') {
            Some((auth, rest)) => (format!("{auth}@"), rest),
            None => (String::new(), rest),
        };
        let (hosts, path) = rest.split_once('/').unwrap_or((rest, ""));
        let hosts: Vec<&str> = hosts
            .split(',')
            .map(str::trim)
            .filter(|h| !h.is_empty())
            .collect();
        if hosts.is_empty() {
            return Err(RedisTargetError("no host".into()));
        }
        for host in &hosts {
            if host.contains(char::is_whitespace) || host.starts_with(':') {
                return Err(RedisTargetError(format!("bad host {host:?}")));
            }
        }
        let node = |host: &str, tls: bool| {
            format!("{}://{auth}{host}", if tls { "rediss" } else { "redis" })
        };
        match scheme {
            "redis" | "rediss" => {
                if hosts.len() != 1 {
                    return Err(RedisTargetError(
                        "a redis:// URL names one host; use redis+cluster:// for several".into(),
                    ));
                }
                let db = if path.is_empty() {
                    String::new()
                } else {
                    format!("/{path}")
                };
                Ok(Self::Standalone(format!(
                    "{}{db}",
                    node(hosts[0], scheme == "rediss")
                )))
            }
            "redis+cluster" | "rediss+cluster" => {
                if !path.is_empty() {
                    return Err(RedisTargetError(
                        "a Redis Cluster has no database number".into(),
                    ));
                }
                let tls = scheme.starts_with("rediss");
                Ok(Self::Cluster(hosts.iter().map(|h| node(h, tls)).collect()))
            }
            "redis+sentinel" | "rediss+sentinel" => {
                let mut parts = path.split('/');
                let master = parts.next().filter(|m| !m.is_empty()).ok_or_else(|| {
                    RedisTargetError("a sentinel URL needs the master name after the hosts".into())
                })?;
                let db = match parts.next() {
                    None | Some("") => 0,
                    Some(db) => db
                        .parse()
                        .map_err(|_| RedisTargetError(format!("bad database number {db:?}")))?,
                };
                let tls = scheme.starts_with("rediss");
                Ok(Self::Sentinel {
                    sentinels: hosts.iter().map(|h| node(h, tls)).collect(),
                    master: master.to_owned(),
                    db,
                })
            }
            other => Err(RedisTargetError(format!("unknown scheme {other:?}"))),
        }
    }
}

impl RedisTarget {
    /// True for `rediss://`, `rediss+cluster://` and `rediss+sentinel://`.
    pub fn uses_tls(&self) -> bool {
        let first = match self {
            Self::Standalone(url) => Some(url),
            Self::Cluster(nodes) => nodes.first(),
            Self::Sentinel { sentinels, .. } => sentinels.first(),
        };
        first.is_some_and(|url| url.starts_with("rediss://"))
    }
}

/// Hides passwords: `redis://user:***@host`.
fn redact(url: &str) -> String {
    match (url.split_once("://"), url.rsplit_once('@')) {
        (Some((scheme, rest)), Some((_, host))) => {
            let user = rest
                .split_once('@')
                .map(|(auth, _)| auth.split(':').next().unwrap_or(""))
                .unwrap_or("");
            format!("{scheme}://{user}:***@{host}")
        }
        _ => url.to_owned(),
    }
}

impl fmt::Display for RedisTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Standalone(url) => f.write_str(&redact(url)),
            Self::Cluster(nodes) => {
                write!(
                    f,
                    "cluster [{}]",
                    nodes
                        .iter()
                        .map(|n| redact(n))
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            }
            Self::Sentinel {
                sentinels,
                master,
                db,
            } => write!(
                f,
                "sentinel [{}] master {master} db {db}",
                sentinels
                    .iter()
                    .map(|n| redact(n))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        }
    }
}

impl fmt::Debug for RedisTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RedisTarget({self})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_three_deployments_parse() {
        assert_eq!(
            "redis://127.0.0.1:6379".parse(),
            Ok(RedisTarget::Standalone("redis://127.0.0.1:6379".into()))
        );
        assert_eq!(
            "redis://:pw@h:1/2".parse(),
            Ok(RedisTarget::Standalone("redis://:pw@h:1/2".into()))
        );
        assert_eq!(
            "redis+cluster://a:7000,b:7001".parse(),
            Ok(RedisTarget::Cluster(vec![
                "redis://a:7000".into(),
                "redis://b:7001".into()
            ]))
        );
        assert_eq!(
            "redis+sentinel://s1:26379,s2:26379/mymaster".parse(),
            Ok(RedisTarget::Sentinel {
                sentinels: vec!["redis://s1:26379".into(), "redis://s2:26379".into()],
                master: "mymaster".into(),
                db: 0
            })
        );
    }

    #[test]
    fn bad_urls_say_how_to_write_them() {
        for bad in [
            "localhost:6379",
            "http://h",
            "redis://",
            "redis://a,b",
            "redis+sentinel://s1",
        ] {
            let e = bad.parse::<RedisTarget>().unwrap_err().to_string();
            assert!(e.contains("write redis://host:6379"), "{bad}: {e}");
        }
    }

    #[test]
    fn passwords_are_hidden() {
        let t: RedisTarget = "redis://u:secret@h:1".parse().unwrap();
        assert_eq!(t.to_string(), "redis://u:***@h:1");
        assert!(!format!("{t:?}").contains("secret"));
    }
}
