//! What each way of running Herald needs beyond a configuration that parses: `herald node`
//! and `herald coordinator` need Redis, a cluster node an access key, a real Cosmos DB account
//! for a `cosmos` feed. Checked at start and by `herald check`, with the same words.

use super::{Config, ConfigError, FeedSource};
use crate::config::CosmosAccount;

/// A way of running Herald.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Role {
    /// `herald standalone`: one self-contained node.
    Standalone,
    /// `herald node`: a cluster node.
    Node,
    /// `herald coordinator`: assigns the feed leases.
    Coordinator,
}

impl Role {
    /// The command that runs this role.
    pub fn command(self) -> &'static str {
        match self {
            Self::Standalone => "herald standalone",
            Self::Node => "herald node",
            Self::Coordinator => "herald coordinator",
        }
    }
}

impl Config {
    /// Whether this configuration can run as `role`; the error names the key and what to set.
    pub fn require_for(&self, role: Role) -> Result<(), ConfigError> {
        let invalid = |key: &str, message: String| ConfigError::Invalid {
            key: key.to_owned(),
            message,
        };
        if role != Role::Standalone && self.redis.url.is_none() {
            return Err(invalid(
                "redis.url",
                format!(
                    "required for `{}` (e.g. HERALD_REDIS_URL=redis://redis:6379); run `herald standalone` for a single node without Redis",
                    role.command()
                ),
            ));
        }
        if role == Role::Node {
            let has_key = self
                .connection_string
                .as_ref()
                .is_some_and(|c| c.access_key().is_some());
            if !has_key && !self.auth.allow_anonymous {
                return Err(invalid(
                    "connection_string",
                    "a cluster node needs an access key: set connection_string (HERALD_CONNECTION_STRING) with AccessKey=..., or auth.allow_anonymous = true to run a cluster without authentication".to_owned(),
                ));
            }
        }
        if role == Role::Coordinator {
            return Ok(());
        }
        for (index, feed) in self.feeds.iter().enumerate() {
            match &feed.source {
                FeedSource::RedisStream { .. } if self.redis.url.is_none() => {
                    return Err(invalid(
                        &format!("feeds[{index}].source"),
                        "redis-stream needs redis.url (e.g. HERALD_REDIS_URL=redis://localhost:6379)"
                            .to_owned(),
                    ));
                }
                FeedSource::Cosmos {
                    account: CosmosAccount::Embedded,
                    ..
                } if role == Role::Node => {
                    return Err(invalid(
                        &format!("feeds[{index}].source.endpoint"),
                        "a cluster node has no embedded Cosmos DB account: set source.endpoint to the account's URL".to_owned(),
                    ));
                }
                _ => {}
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::Role;
    use crate::config::tests::from_toml;

    const KEY: &str = "connection_string = \"Endpoint=http://localhost;AccessKey=0123456789abcdef0123456789abcdef;Version=1.0;\"\n";

    #[test]
    fn standalone_needs_nothing_more() {
        let c = from_toml("").unwrap();
        c.require_for(Role::Standalone).unwrap();
    }

    #[test]
    fn node_and_coordinator_need_redis_and_say_so() {
        let c = from_toml(KEY).unwrap();
        for role in [Role::Node, Role::Coordinator] {
            let text = c.require_for(role).unwrap_err().to_string();
            assert!(text.starts_with("config key redis.url: "), "{text}");
            assert!(text.contains(role.command()), "{text}");
        }
    }

    #[test]
    fn a_node_needs_an_access_key_or_the_anonymous_opt_in() {
        let c = from_toml("[redis]\nurl = \"redis://localhost:6379\"\n").unwrap();
        let text = c.require_for(Role::Node).unwrap_err().to_string();
        assert!(text.starts_with("config key connection_string: "), "{text}");
        c.require_for(Role::Coordinator).unwrap();
        let c = from_toml(
            "[redis]\nurl = \"redis://localhost:6379\"\n[auth]\nallow_anonymous = true\n",
        )
        .unwrap();
        c.require_for(Role::Node).unwrap();
        let c = from_toml(&format!("{KEY}[redis]\nurl = \"redis://localhost:6379\"\n")).unwrap();
        c.require_for(Role::Node).unwrap();
    }

    #[test]
    fn feeds_name_what_their_source_lacks() {
        let feed = "[[feeds]]\nname = \"orders\"\nhub = \"orders\"\ntarget = \"t\"\nto = \"all\"\n";
        let c = from_toml(&format!(
            "{feed}source = {{ kind = \"redis-stream\", partitions = 2 }}\n"
        ))
        .unwrap();
        let text = c.require_for(Role::Standalone).unwrap_err().to_string();
        assert!(text.starts_with("config key feeds[0].source: "), "{text}");

        let c = from_toml(&format!(
            "{KEY}[redis]\nurl = \"redis://localhost:6379\"\n{feed}source = {{ kind = \"cosmos\", database = \"d\", container = \"c\" }}\n"
        ))
        .unwrap();
        c.require_for(Role::Standalone).unwrap();
        let text = c.require_for(Role::Node).unwrap_err().to_string();
        assert!(
            text.starts_with("config key feeds[0].source.endpoint: "),
            "{text}"
        );
    }
}
