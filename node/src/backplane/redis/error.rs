//! Why the backplane or a command connection could not start.

use std::time::Duration;

/// A Redis connection that could not be set up. `target` is shown with passwords hidden.
#[derive(Debug, thiserror::Error)]
pub enum RedisError {
    /// The URL names something the redis crate cannot use (e.g. `rediss://` without TLS support).
    #[error("redis.url {target} cannot be used: {source}: fix redis.url")]
    Invalid {
        target: String,
        source: redis::RedisError,
    },
    /// Redis refused or dropped the connection.
    #[error(
        "cannot connect to redis at {target}: {source}: check that redis runs there and that redis.url (address, credentials) is right"
    )]
    Connect {
        target: String,
        source: redis::RedisError,
    },
    /// No answer in time.
    #[error("no answer from redis at {target} within {}: check the address, or raise redis.connect_timeout", humantime::format_duration(*after))]
    Timeout { target: String, after: Duration },
    /// `start` was called outside a tokio runtime, so there is nowhere to run the supervisor.
    #[error(
        "the redis backplane was started outside a tokio runtime: start it from the server's runtime"
    )]
    NoRuntime,
}
