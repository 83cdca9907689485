//! Checks that span several settings; single values are checked as they are read.

use super::{Config, ConfigError, feeds_parse};

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
    feeds_parse::validate(config)
}
