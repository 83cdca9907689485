//! How Herald proves itself to Redis and checks Redis back: the password (`AUTH`) and the TLS
//! material of `rediss://` URLs, read from `[redis]` once and applied to every connection the
//! connector makes (server, cluster nodes, sentinels and the master they name).
//!
//! Without `redis.tls_ca_file` the server's certificate is checked against the system roots
//! (rustls-native-certs), which is what Azure Cache for Redis and other managed Redis need.

use std::path::Path;

use redis::{ClientTlsConfig, ConnectionAddr, ConnectionInfo, TlsCertificates};

use super::error::RedisError;
use crate::config::RedisConfig;

/// Password and TLS material for Redis connections; [`RedisSecurity::default`] is none.
#[derive(Clone, Default)]
pub struct RedisSecurity {
    /// `redis.password`, which wins over a password in the URL.
    password: Option<String>,
    /// PEM bytes of `redis.tls_ca_file`: trusted instead of the system roots.
    root_cert: Option<Vec<u8>>,
    /// PEM bytes of `redis.tls_cert_file` and `redis.tls_key_file`.
    client: Option<(Vec<u8>, Vec<u8>)>,
    /// `redis.tls_insecure`: no certificate check at all.
    insecure: bool,
}

impl std::fmt::Debug for RedisSecurity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisSecurity")
            .field("password", &self.password.as_ref().map(|_| "(redacted)"))
            .field("root_cert", &self.root_cert.is_some())
            .field("client_cert", &self.client.is_some())
            .field("insecure", &self.insecure)
            .finish()
    }
}

impl RedisSecurity {
    /// Reads the files named in `redis` (the configuration already checked they exist and go
    /// together); an unreadable file is an error naming its key.
    pub fn from_config(redis: &RedisConfig) -> Result<Self, RedisError> {
        let read = |key: &'static str, path: &Path| {
            std::fs::read(path).map_err(|source| RedisError::TlsFile {
                key,
                path: path.display().to_string(),
                source,
            })
        };
        let root_cert = match &redis.tls_ca_file {
            Some(path) => Some(read("redis.tls_ca_file", path)?),
            None => None,
        };
        let client = match (&redis.tls_cert_file, &redis.tls_key_file) {
            (Some(cert), Some(key)) => Some((
                read("redis.tls_cert_file", cert)?,
                read("redis.tls_key_file", key)?,
            )),
            _ => None,
        };
        Ok(Self {
            password: redis.password.as_ref().map(|p| p.expose().to_owned()),
            root_cert,
            client,
            insecure: redis.tls_insecure,
        })
    }

    /// Logs a warning when certificates go unchecked; called once as a role starts.
    pub fn warn_if_insecure(&self) {
        if self.insecure {
            tracing::warn!(
                "redis.tls_insecure = true: the Redis server's certificate is NOT verified, anyone on the path can read and change the traffic; use it only in tests and set redis.tls_ca_file instead"
            );
        }
    }

    /// `info` with the configured password and, for a TLS address, the insecure flag.
    pub(super) fn apply(&self, info: ConnectionInfo) -> ConnectionInfo {
        let info = match &self.password {
            Some(password) => {
                let settings = info.redis_settings().clone().set_password(password);
                info.set_redis_settings(settings)
            }
            None => info,
        };
        match info.addr().clone() {
            ConnectionAddr::TcpTls {
                host,
                port,
                insecure,
                tls_params,
            } if self.insecure && !insecure => info.set_addr(ConnectionAddr::TcpTls {
                host,
                port,
                insecure: true,
                tls_params,
            }),
            _ => info,
        }
    }

    /// The password, for the sentinel builder (which takes it separately).
    pub(super) fn password(&self) -> Option<&str> {
        self.password.as_deref()
    }

    /// Whether certificates are not verified.
    pub(super) fn insecure(&self) -> bool {
        self.insecure
    }

    /// The certificates to hand to the redis crate, when a CA or a client certificate is set.
    pub(super) fn certificates(&self) -> Option<TlsCertificates> {
        if self.root_cert.is_none() && self.client.is_none() {
            return None;
        }
        Some(TlsCertificates {
            client_tls: self.client.as_ref().map(|(cert, key)| ClientTlsConfig {
                client_cert: cert.clone(),
                client_key: key.clone(),
            }),
            root_cert: self.root_cert.clone(),
        })
    }
}
