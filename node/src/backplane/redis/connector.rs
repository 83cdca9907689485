//! From a [`RedisTarget`] to live connections: the RESP3 push connection of the backplane
//! ([`Connector::push_link`]) and the inputs of command connections.
//!
//! Standalone and Sentinel give one multiplexed connection (Sentinel asks for the current
//! master on every attempt, so a failover is followed by reconnecting); Cluster gives a fresh
//! cluster connection, and with it a fresh slot map, on every attempt.

use std::time::Duration;

use redis::AsyncConnectionConfig;
use redis::TlsMode;
use redis::cluster::ClusterClientBuilder;
use redis::sentinel::{SentinelClient, SentinelClientBuilder, SentinelServerType};
use redis::{Client, ConnectionInfo, IntoConnectionInfo, ProtocolVersion};

use super::error::RedisError;
use super::link::Link;
use super::push::PushRouter;
use super::security::RedisSecurity;
use super::target::RedisTarget;

/// How to reach the configured deployment.
pub(super) enum Connector {
    /// One server; the client is RESP3 so pushes can be routed.
    Standalone { client: Client },
    /// Sentinels that name the master; asked again on every connection attempt.
    Sentinel { sentinel: SentinelClient },
    /// Cluster seed nodes; a new client per attempt because the push sender is part of it.
    Cluster {
        nodes: Vec<ConnectionInfo>,
        certificates: Option<redis::TlsCertificates>,
    },
}

impl Connector {
    /// Checks and prepares `target`, speaking `protocol` to the data nodes.
    pub(super) fn new(
        target: &RedisTarget,
        security: &RedisSecurity,
        protocol: ProtocolVersion,
    ) -> Result<Self, RedisError> {
        let invalid = |source| RedisError::Invalid {
            target: target.to_string(),
            source,
        };
        match target {
            RedisTarget::Standalone(url) => {
                let info = security.apply(with_protocol(
                    url.as_str().into_connection_info().map_err(invalid)?,
                    protocol,
                ));
                let client = match security.certificates() {
                    Some(certificates) => Client::build_with_tls(info, certificates),
                    None => Client::open(info),
                };
                Ok(Self::Standalone {
                    client: client.map_err(invalid)?,
                })
            }
            RedisTarget::Sentinel {
                sentinels,
                master,
                db,
            } => {
                let infos = sentinels
                    .iter()
                    .map(|url| {
                        url.as_str()
                            .into_connection_info()
                            .map(|i| security.apply(i))
                    })
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(invalid)?;
                let mut builder = SentinelClientBuilder::new(
                    infos.iter().map(|info| info.addr().clone()),
                    master,
                    SentinelServerType::Master,
                )
                .map_err(invalid)?
                .set_client_to_redis_protocol(protocol)
                .set_client_to_redis_db(*db);
                // One set of credentials in the URL serves the sentinels and the master alike.
                if let Some(settings) = infos.first().map(ConnectionInfo::redis_settings) {
                    if let Some(user) = settings.username() {
                        builder = builder
                            .set_client_to_redis_username(user)
                            .set_client_to_sentinel_username(user);
                    }
                    if let Some(password) = settings.password() {
                        builder = builder
                            .set_client_to_redis_password(password)
                            .set_client_to_sentinel_password(password);
                    }
                }
                if let Some(password) = security.password() {
                    builder = builder
                        .set_client_to_redis_password(password)
                        .set_client_to_sentinel_password(password);
                }
                // rediss+sentinel://: the sentinels and the master they name both speak TLS.
                if target.uses_tls() {
                    let mode = if security.insecure() {
                        TlsMode::Insecure
                    } else {
                        TlsMode::Secure
                    };
                    builder = builder
                        .set_client_to_redis_tls_mode(mode)
                        .set_client_to_sentinel_tls_mode(mode);
                    if let Some(certificates) = security.certificates() {
                        builder = builder
                            .set_client_to_redis_certificates(certificates.clone())
                            .set_client_to_sentinel_certificates(certificates);
                    }
                }
                Ok(Self::Sentinel {
                    sentinel: builder.build().map_err(invalid)?,
                })
            }
            RedisTarget::Cluster(nodes) => {
                let nodes = nodes
                    .iter()
                    .map(|url| {
                        url.as_str()
                            .into_connection_info()
                            .map(|info| security.apply(with_protocol(info, protocol)))
                    })
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(invalid)?;
                Ok(Self::Cluster {
                    nodes,
                    certificates: security.certificates(),
                })
            }
        }
    }

    /// A client for the current master (standalone: the server; sentinel: asked now).
    pub(super) async fn client(&mut self) -> redis::RedisResult<Client> {
        match self {
            Self::Standalone { client } => Ok(client.clone()),
            Self::Sentinel { sentinel } => sentinel.async_get_client().await,
            Self::Cluster { .. } => {
                Err((redis::ErrorKind::Client, "a cluster has no single master").into())
            }
        }
    }

    /// A cluster client builder seeded with the configured nodes.
    pub(super) fn cluster_builder(&self, timeout: Duration) -> Option<ClusterClientBuilder> {
        match self {
            Self::Cluster {
                nodes,
                certificates,
            } => {
                let builder = ClusterClientBuilder::new(nodes.clone())
                    .connection_timeout(timeout)
                    .response_timeout(timeout);
                Some(match certificates {
                    Some(certificates) => builder.certs(certificates.clone()),
                    None => builder,
                })
            }
            _ => None,
        }
    }

    /// Opens the backplane's push connection, routing its pushes to `router`. Each attempt
    /// resolves the master (Sentinel) or the slot map (Cluster) afresh.
    pub(super) async fn push_link(
        &mut self,
        router: PushRouter,
        timeout: Duration,
    ) -> redis::RedisResult<Link> {
        if let Some(builder) = self.cluster_builder(timeout) {
            let client = builder
                .use_protocol(ProtocolVersion::RESP3)
                .push_sender(router)
                .build()?;
            return Ok(Link::Cluster(client.get_async_connection().await?));
        }
        let config = AsyncConnectionConfig::new()
            .set_connection_timeout(Some(timeout))
            .set_response_timeout(Some(timeout))
            .set_push_sender(router);
        let client = self.client().await?;
        Ok(Link::Single(
            client
                .get_multiplexed_async_connection_with_config(&config)
                .await?,
        ))
    }
}

fn with_protocol(info: ConnectionInfo, protocol: ProtocolVersion) -> ConnectionInfo {
    let settings = info.redis_settings().clone().set_protocol(protocol);
    info.set_redis_settings(settings)
}
