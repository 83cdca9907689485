//! Configuration: defaults, then an optional TOML file, then `HERALD_*` environment
//! variables, parsed once into typed, validated fields.
//!
//! Every setting is listed once, in `keys`'s table (TOML key, environment variable and
//! kind of value); the TOML and environment layers are both driven by it, so a new
//! section is added there and in its struct, nowhere else. Unknown keys and unknown
//! `HERALD_*` variables are errors, so a typo never silently leaves a default in place.
//! `[[feeds]]` is the exception to the table: an array of structured entries, parsed on its
//! own by `feeds_parse` and set only in TOML.
//! `HERALD_CONFIG` (the file to load, read by the CLI) and `HERALD_TEST_*` are exempt.

mod error;
mod feed_route;
mod feed_secrets;
mod feed_template;
mod feed_time;
mod feeds;
mod feeds_parse;
mod keys;
mod layers;
mod node_id;
mod roles;
mod sections;
mod suggest;
mod summary;
mod validate;
mod values;

use std::net::SocketAddr;
use std::path::Path;

use herald_proto::ids::{HubName, NodeId};
use serde::Serialize;
use url::Url;

use crate::auth::ConnectionString;

pub use error::ConfigError;
pub use feeds::{
    CosmosAccount, CosmosAuth, DEFAULT_BATCH_SIZE, DEFAULT_COSMOS_POLL_DELAY, FeedConfig,
    FeedSource, Route, SecretText, StartFrom, Template,
};
/// The transports `client.transports` lists; re-exported so callers need not reach into proto.
pub use herald_proto::negotiate::TransportType;
pub use roles::Role;
pub use sections::{
    AdminConfig, AuthConfig, ClientConfig, ClusterConfig, DemoConfig, LogConfig, LogFormat,
    RedisConfig, RestConfig, ShutdownConfig, UpstreamConfig,
};

/// The whole configuration of a node.
///
/// `Serialize` renders the effective settings (durations as "15s", the connection string
/// redacted); it is what [`Config::summary`] prints, not a format to read back.
#[derive(Debug, Clone, Serialize)]
pub struct Config {
    /// Where clients and the REST API are served.
    pub listen: SocketAddr,
    /// Where health, readiness and metrics are served, kept apart so they are never public.
    pub admin_listen: SocketAddr,
    /// This node's name in connection ids and cluster messages; defaults to the host name so
    /// it is stable across restarts of the same pod.
    pub node_id: NodeId,
    /// Endpoint and access key, Azure style; `None` runs without authentication.
    #[serde(serialize_with = "summary::redacted")]
    pub connection_string: Option<ConnectionString>,
    /// The hubs clients may use; empty allows any valid hub name.
    pub hubs: Vec<HubName>,
    /// Logging filter and format.
    pub log: LogConfig,
    /// Authentication settings beyond the connection string.
    pub auth: AuthConfig,
    /// Limits and timers of client connections.
    pub client: ClientConfig,
    /// Limits of the REST API.
    pub rest: RestConfig,
    /// How shutdown drains connections.
    pub shutdown: ShutdownConfig,
    /// Where client events are forwarded, Azure serverless style; off by default.
    pub upstream: UpstreamConfig,
    /// The Redis that joins nodes into a cluster; without `url`, the node runs alone.
    pub redis: RedisConfig,
    /// Membership timers and how other nodes reach this one.
    pub cluster: ClusterConfig,
    /// The standalone demo (embedded account, `stocks` feed, price writer).
    pub demo: DemoConfig,
    /// Admin API authentication and how other nodes reach this admin listener.
    pub admin: AdminConfig,
    /// `[[feeds]]`: change feeds turned into pushes; none by default. The summary lists them
    /// after the key table's settings.
    #[serde(skip)]
    pub feeds: Vec<FeedConfig>,
}

impl Default for Config {
    /// The built-in defaults, with a random node id (no host name is known here).
    fn default() -> Self {
        Self::with_node_id(node_id::random())
    }
}

impl Config {
    fn with_node_id(node_id: NodeId) -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            admin_listen: SocketAddr::from(([127, 0, 0, 1], 9090)),
            node_id,
            connection_string: None,
            hubs: Vec::new(),
            log: LogConfig::default(),
            auth: AuthConfig::default(),
            client: ClientConfig::default(),
            rest: RestConfig::default(),
            shutdown: ShutdownConfig::default(),
            upstream: UpstreamConfig::default(),
            redis: RedisConfig::default(),
            cluster: ClusterConfig::default(),
            demo: DemoConfig::default(),
            admin: AdminConfig::default(),
            feeds: Vec::new(),
        }
    }

    /// Loads defaults, then `file` (if any), then the `HERALD_*` variables of `env` (the
    /// binary passes `std::env::vars()`; tests pass vectors). `HOSTNAME` in `env` seeds the
    /// default node id.
    pub fn load(
        file: Option<&Path>,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Config, ConfigError> {
        let text = match file {
            Some(path) => {
                Some(
                    std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
                        path: path.to_path_buf(),
                        source,
                    })?,
                )
            }
            None => None,
        };
        let origin = file.map(|p| p.display().to_string());
        Self::build(
            text.as_deref().zip(origin.as_deref()),
            &env.into_iter().collect::<Vec<_>>(),
        )
    }

    /// Like [`Config::load`] with the file's text given directly.
    pub fn from_toml_str(
        toml: &str,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Config, ConfigError> {
        Self::build(
            Some((toml, "the given TOML")),
            &env.into_iter().collect::<Vec<_>>(),
        )
    }

    fn build(toml: Option<(&str, &str)>, env: &[(String, String)]) -> Result<Config, ConfigError> {
        let hostname = env
            .iter()
            .rev()
            .find(|(name, _)| name == "HOSTNAME")
            .map(|(_, value)| value.as_str());
        let mut config = Self::with_node_id(node_id::derive(hostname));
        if let Some((text, origin)) = toml {
            layers::apply_toml(&mut config, text, origin)?;
        }
        layers::apply_env(&mut config, env)?;
        feed_secrets::resolve(&mut config.feeds, env)?;
        feed_secrets::resolve_admin_token(&mut config.admin, env)?;
        feed_secrets::resolve_redis_password(&mut config.redis, env)?;
        validate::validate(&config)?;
        Ok(config)
    }

    /// The public base URL: the connection string's `Endpoint` (with `Port=` applied), or
    /// `http://{listen}` without one.
    pub fn endpoint(&self) -> Url {
        match &self.connection_string {
            Some(connection) => connection.endpoint.clone(),
            None => listen_url(self.listen),
        }
    }

    /// The internal base URL other nodes forward requests to: `cluster.advertise_url`, or
    /// `http://{listen}` without one.
    pub fn advertise_url(&self) -> Url {
        match &self.cluster.advertise_url {
            Some(url) => url.clone(),
            None => listen_url(self.listen),
        }
    }

    /// The base URL of this node's admin listener as other nodes reach it:
    /// `admin.advertise_url`, or `http://{admin_listen}` with a wildcard address replaced by the
    /// host of `cluster.advertise_url` (a pod's IP, say).
    pub fn admin_advertise_url(&self) -> String {
        if let Some(url) = &self.admin.advertise_url {
            return url.as_str().trim_end_matches('/').to_owned();
        }
        let addr = self.admin_listen;
        if addr.ip().is_unspecified()
            && let Some(host) = self
                .cluster
                .advertise_url
                .as_ref()
                .and_then(|u| u.host_str())
        {
            return format!("http://{host}:{}", addr.port());
        }
        format!("http://{addr}")
    }

    /// One `key = value` line per setting, for the startup log; secrets are redacted.
    pub fn summary(&self) -> String {
        summary::render(self)
    }
}

/// `http://{addr}/`; a socket address always forms a valid http URL.
fn listen_url(addr: SocketAddr) -> Url {
    match Url::parse(&format!("http://{addr}/")) {
        Ok(url) => url,
        Err(_) => unreachable!("a socket address is a valid URL authority"),
    }
}

#[cfg(test)]
mod admin_tests;
#[cfg(test)]
mod cluster_tests;
#[cfg(test)]
mod feeds_rejections;
#[cfg(test)]
mod feeds_tests;
#[cfg(test)]
mod rejections;
#[cfg(test)]
mod tests;
