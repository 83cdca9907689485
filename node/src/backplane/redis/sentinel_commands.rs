//! Command connections behind Sentinel: a `ConnectionManager` to the master Sentinel named,
//! replaced when a command fails in a way that suggests the master moved (connection lost,
//! `READONLY` from a demoted master), since the manager alone would keep reconnecting to the
//! old address.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use futures_util::FutureExt;
use redis::aio::{ConnectionLike, ConnectionManager, ConnectionManagerConfig};
use redis::{Cmd, Pipeline, RedisFuture, RedisResult, Value};

use super::connector::Connector;
use super::link::is_link_failure;

/// A Sentinel-resolved command connection. Clones share it.
#[derive(Clone)]
pub struct SentinelCommands {
    inner: Arc<Inner>,
}

struct Inner {
    /// Asks the sentinels; a tokio lock since resolving awaits.
    connector: tokio::sync::Mutex<Connector>,
    /// The manager for the master last resolved.
    current: Mutex<ConnectionManager>,
    /// Set while a re-resolve runs, so a burst of failures starts one.
    resolving: AtomicBool,
    /// Used for each new manager.
    config: ConnectionManagerConfig,
    /// The configured database.
    db: i64,
}

impl SentinelCommands {
    /// Resolves the master and connects to it.
    pub(super) async fn open(
        mut connector: Connector,
        config: ConnectionManagerConfig,
    ) -> RedisResult<Self> {
        let client = connector.client().await?;
        let db = client.get_connection_info().redis_settings().db();
        let manager = ConnectionManager::new_with_config(client, config.clone()).await?;
        Ok(Self {
            inner: Arc::new(Inner {
                connector: tokio::sync::Mutex::new(connector),
                current: Mutex::new(manager),
                resolving: AtomicBool::new(false),
                config,
                db,
            }),
        })
    }

    fn current(&self) -> ConnectionManager {
        self.inner
            .current
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// After a failure that may mean failover, asks the sentinels again in the background.
    fn after<T>(&self, result: &RedisResult<T>) {
        let Err(error) = result else { return };
        if !is_link_failure(error) || self.inner.resolving.swap(true, Ordering::AcqRel) {
            return;
        }
        let inner = self.inner.clone();
        tokio::spawn(async move {
            let resolved = async {
                let client = inner.connector.lock().await.client().await?;
                ConnectionManager::new_with_config(client, inner.config.clone()).await
            }
            .await;
            match resolved {
                Ok(manager) => {
                    *inner.current.lock().unwrap_or_else(PoisonError::into_inner) = manager
                }
                Err(e) => {
                    tracing::info!(error = %e, "redis sentinel: resolving the master failed; retrying on the next failure")
                }
            }
            inner.resolving.store(false, Ordering::Release);
        });
    }
}

impl ConnectionLike for SentinelCommands {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        let mut conn = self.current();
        async move {
            let result = conn.req_packed_command(cmd).await;
            self.after(&result);
            result
        }
        .boxed()
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        pipeline: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        let mut conn = self.current();
        async move {
            let result = conn.req_packed_commands(pipeline, offset, count).await;
            self.after(&result);
            result
        }
        .boxed()
    }

    fn get_db(&self) -> i64 {
        self.inner.db
    }
}
