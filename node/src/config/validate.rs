//! Checks that span several settings; single values are checked as they are read.

use super::sections::RedisConfig;
use super::{Config, ConfigError, feeds_parse};
use crate::backplane::redis::RedisTarget;

/// Refuses combinations of settings that cannot work together.
pub(crate) fn validate(config: &Config) -> Result<(), ConfigError> {
    let client = &config.client;
    if client.keep_alive >= client.timeout {
        return Err(ConfigError::Invalid {
            key: "client.keep_alive".to_owned(),
            message: format!(
                "must be shorter than client.timeout, got {} against {}: lower keep_alive or raise timeout (a client needs pings to stay connected)",
                humantime::format_duration(client.keep_alive),
                humantime::format_duration(client.timeout),
            ),
        });
    }
    let cluster = &config.cluster;
    if cluster.node_ttl <= cluster.heartbeat_interval * 2 {
        return Err(ConfigError::Invalid {
            key: "cluster.node_ttl".to_owned(),
            message: format!(
                "must be more than twice cluster.heartbeat_interval, got {} against {}: raise node_ttl or lower heartbeat_interval (one late heartbeat must not evict a live node)",
                humantime::format_duration(cluster.node_ttl),
                humantime::format_duration(cluster.heartbeat_interval),
            ),
        });
    }
    // Port 0 asks the OS for a free port each time, so equal addresses are fine then.
    if config.listen == config.admin_listen && config.listen.port() != 0 {
        return Err(ConfigError::Invalid {
            key: "admin_listen".to_owned(),
            message: format!(
                "must differ from listen, both are {}: give the admin endpoints their own port",
                config.listen
            ),
        });
    }
    redis_tls(&config.redis)?;
    feeds_parse::validate(config)
}

/// TLS files only make sense with a `rediss://` URL, and a client certificate needs its key.
fn redis_tls(redis: &RedisConfig) -> Result<(), ConfigError> {
    let tls = redis.url.as_ref().is_some_and(RedisTarget::uses_tls);
    let settings = [
        ("redis.tls_ca_file", redis.tls_ca_file.is_some()),
        ("redis.tls_cert_file", redis.tls_cert_file.is_some()),
        ("redis.tls_key_file", redis.tls_key_file.is_some()),
        ("redis.tls_insecure", redis.tls_insecure),
    ];
    if let Some((key, _)) = settings.iter().find(|(_, set)| *set)
        && redis.url.is_some()
        && !tls
    {
        return Err(ConfigError::Invalid {
            key: (*key).to_owned(),
            message: "is set but redis.url does not use TLS: write rediss:// (or rediss+cluster://, rediss+sentinel://), or remove the setting".to_owned(),
        });
    }
    match (&redis.tls_cert_file, &redis.tls_key_file) {
        (Some(_), None) => Err(ConfigError::Invalid {
            key: "redis.tls_key_file".to_owned(),
            message: "is missing: redis.tls_cert_file needs the private key of the certificate"
                .to_owned(),
        }),
        (None, Some(_)) => Err(ConfigError::Invalid {
            key: "redis.tls_cert_file".to_owned(),
            message: "is missing: redis.tls_key_file needs the certificate it belongs to"
                .to_owned(),
        }),
        _ => Ok(()),
    }
}
