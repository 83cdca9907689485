//! Connections for ordinary commands (the node registry, the membership mirror, leases):
//! cloneable, reconnecting by themselves, usable as `redis::cmd(..).query_async(&mut conn)`
//! and with pipelines whatever the deployment.
//!
//! Standalone uses the crate's `ConnectionManager`; Sentinel wraps one and resolves the master
//! again when a command fails on a dead or demoted master (see `sentinel_commands`); Cluster
//! uses the cluster connection, which follows slot moves itself. They speak RESP2, so replies
//! have the shapes most code expects (RESP3 would turn some arrays into maps).

use std::time::Duration;

use redis::aio::{ConnectionLike, ConnectionManager, ConnectionManagerConfig};
use redis::cluster_async::ClusterConnection;
use redis::{Cmd, Pipeline, ProtocolVersion, RedisFuture, Value};

use super::connector::Connector;
use super::error::RedisError;
use super::security::RedisSecurity;
use super::sentinel_commands::SentinelCommands;
use super::target::RedisTarget;

/// A command connection to the configured deployment. Clones share the connection.
#[derive(Clone)]
pub enum CommandConnection {
    /// One server.
    Standalone(ConnectionManager),
    /// The master Sentinel names, re-resolved after connection failures.
    Sentinel(SentinelCommands),
    /// A Redis Cluster.
    Cluster(ClusterConnection),
}

impl std::fmt::Debug for CommandConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Standalone(_) => "CommandConnection::Standalone",
            Self::Sentinel(_) => "CommandConnection::Sentinel",
            Self::Cluster(_) => "CommandConnection::Cluster",
        })
    }
}

/// Opens a command connection to `target`, waiting at most `connect_timeout` for the first
/// connection (later reconnects happen in the background, per command).
pub async fn command_connection(
    target: &RedisTarget,
    security: &RedisSecurity,
    connect_timeout: Duration,
) -> Result<CommandConnection, RedisError> {
    let shown = target.to_string();
    let connect = |source| RedisError::Connect {
        target: shown.clone(),
        source,
    };
    let connector = Connector::new(target, security, ProtocolVersion::RESP2)?;
    let opening = async {
        if let Some(builder) = connector.cluster_builder(connect_timeout) {
            let client = builder.build().map_err(connect)?;
            return Ok(CommandConnection::Cluster(
                client.get_async_connection().await.map_err(connect)?,
            ));
        }
        let config = manager_config(connect_timeout);
        match &connector {
            Connector::Standalone { client } => {
                let manager = ConnectionManager::new_with_config(client.clone(), config)
                    .await
                    .map_err(connect)?;
                Ok(CommandConnection::Standalone(manager))
            }
            _ => {
                let commands = SentinelCommands::open(connector, config)
                    .await
                    .map_err(connect)?;
                Ok(CommandConnection::Sentinel(commands))
            }
        }
    };
    tokio::time::timeout(connect_timeout, opening)
        .await
        .unwrap_or_else(|_| {
            Err(RedisError::Timeout {
                target: target.to_string(),
                after: connect_timeout,
            })
        })
}

/// Reconnect policy of managed connections: quick first retries, bounded by the timeout.
pub(super) fn manager_config(timeout: Duration) -> ConnectionManagerConfig {
    ConnectionManagerConfig::new()
        .set_connection_timeout(Some(timeout))
        .set_response_timeout(Some(timeout))
        .set_min_delay(Duration::from_millis(100))
        .set_max_delay(Duration::from_secs(2))
        .set_number_of_retries(3)
}

impl ConnectionLike for CommandConnection {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        match self {
            Self::Standalone(conn) => conn.req_packed_command(cmd),
            Self::Sentinel(conn) => conn.req_packed_command(cmd),
            Self::Cluster(conn) => conn.req_packed_command(cmd),
        }
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        pipeline: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        match self {
            Self::Standalone(conn) => conn.req_packed_commands(pipeline, offset, count),
            Self::Sentinel(conn) => conn.req_packed_commands(pipeline, offset, count),
            Self::Cluster(conn) => conn.req_packed_commands(pipeline, offset, count),
        }
    }

    fn get_db(&self) -> i64 {
        match self {
            Self::Standalone(conn) => conn.get_db(),
            Self::Sentinel(conn) => conn.get_db(),
            Self::Cluster(conn) => conn.get_db(),
        }
    }
}
