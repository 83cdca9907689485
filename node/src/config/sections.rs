//! The tables of the configuration (`[log]`, `[auth]`, `[client]`, `[rest]`, `[shutdown]`,
//! `[upstream]`, `[redis]`, `[cluster]`, `[admin]`) and their defaults.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use serde::{Serialize, Serializer};
use url::Url;

use super::TransportType;
use super::feeds::SecretText;
use super::values::serialize_duration;
use crate::backplane::redis::RedisTarget;
use crate::upstream::{ConnectionEvent, UrlTemplate};

/// `[log]`: what is logged and how.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LogConfig {
    /// A `tracing` `EnvFilter` directive such as `info` or `herald=debug,actix_web=warn`.
    pub level: String,
    /// Human-readable lines for terminals, JSON lines for log collectors.
    pub format: LogFormat,
}

impl Default for LogConfig {
    fn default() -> Self {
        Self {
            level: "info".to_owned(),
            format: LogFormat::Text,
        }
    }
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

impl fmt::Display for LogFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Text => "text",
            Self::Json => "json",
        })
    }
}

/// `[auth]`: authentication beyond the connection string.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuthConfig {
    /// Lets clients in without a token even when an access key is set; only meaningful
    /// once cluster mode exists, off by default so a key always means "checked".
    pub allow_anonymous: bool,
    /// Lifetime of tokens minted by `herald token`.
    #[serde(serialize_with = "serialize_duration")]
    pub token_ttl: Duration,
}

impl Default for AuthConfig {
    fn default() -> Self {
        Self {
            allow_anonymous: false,
            token_ttl: Duration::from_secs(3600),
        }
    }
}

/// `[client]`: limits and timers of client connections.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ClientConfig {
    /// Idle time after which the server sends a ping, so proxies and the client's own
    /// timeout see traffic; must be shorter than `timeout`.
    #[serde(serialize_with = "serialize_duration")]
    pub keep_alive: Duration,
    /// Silence after which a client is considered gone and closed.
    #[serde(serialize_with = "serialize_duration")]
    pub timeout: Duration,
    /// Time a new connection has to send its handshake.
    #[serde(serialize_with = "serialize_duration")]
    pub handshake_timeout: Duration,
    /// Time a negotiated connection id stays reserved before the client connects.
    #[serde(serialize_with = "serialize_duration")]
    pub negotiate_timeout: Duration,
    /// How long a long poll waits for messages before answering empty.
    #[serde(serialize_with = "serialize_duration")]
    pub poll_timeout: Duration,
    /// How long a connection survives without a transport: between long polls, and while a
    /// stateful-reconnect client re-opens its WebSocket.
    #[serde(serialize_with = "serialize_duration")]
    pub disconnect_timeout: Duration,
    /// Unacknowledged bytes kept per stateful-reconnect connection for replay; when full, the
    /// server waits for the client's acknowledgements before sending more.
    pub reconnect_buffer: usize,
    /// Largest incoming message in bytes; bigger ones close the connection.
    pub max_message_size: usize,
    /// Frames queued per connection; a full queue means a slow consumer, which is closed
    /// rather than allowed to hold memory.
    pub outbound_queue: usize,
    /// Transports offered in negotiate responses, in order of preference.
    pub transports: Vec<TransportType>,
}

impl Default for ClientConfig {
    fn default() -> Self {
        Self {
            keep_alive: Duration::from_secs(15),
            timeout: Duration::from_secs(30),
            handshake_timeout: Duration::from_secs(15),
            negotiate_timeout: Duration::from_secs(15),
            poll_timeout: Duration::from_secs(90),
            disconnect_timeout: Duration::from_secs(15),
            reconnect_buffer: 100_000,
            max_message_size: 32 * 1024,
            outbound_queue: 1024,
            transports: vec![
                TransportType::WebSockets,
                TransportType::ServerSentEvents,
                TransportType::LongPolling,
            ],
        }
    }
}

/// `[rest]`: limits of the REST API.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RestConfig {
    /// Largest request body in bytes (Azure SignalR Service allows 1 MiB).
    pub max_body_size: usize,
}

impl Default for RestConfig {
    fn default() -> Self {
        Self {
            max_body_size: 1024 * 1024,
        }
    }
}

/// `[shutdown]`: how a stopping node drains.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ShutdownConfig {
    /// Time connections get to close cleanly before they are dropped.
    #[serde(serialize_with = "serialize_duration")]
    pub grace_period: Duration,
}

impl Default for ShutdownConfig {
    fn default() -> Self {
        Self {
            grace_period: Duration::from_secs(10),
        }
    }
}

/// `[demo]`: the stock board of standalone mode (see [`crate::demo`]): an embedded Cosmos DB
/// account with `demo/stocks`, the `stocks` feed pushing `stockUpdated` to hub `stocks`, and a
/// writer that moves prices. Ignored by `herald node`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DemoConfig {
    /// Whether standalone mode runs the demo (account, feed, writer) at all.
    pub enabled: bool,
    /// Whether the writer updates prices; off leaves the account to documents you write.
    pub writer: bool,
    /// Time between two price updates of the writer.
    #[serde(serialize_with = "serialize_duration")]
    pub interval: Duration,
}

impl Default for DemoConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            writer: true,
            interval: Duration::from_secs(1),
        }
    }
}

/// `[upstream]`: the application endpoint client events are forwarded to, the way Azure
/// SignalR Service's serverless mode calls its upstream (see [`crate::upstream`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UpstreamConfig {
    /// Where to POST events; `None` (the default) forwards nothing. Shown redacted, since the
    /// query usually carries a function key.
    #[serde(serialize_with = "serialize_redacted")]
    pub url_template: Option<UrlTemplate>,
    /// Longest wait for one upstream response; a client's invocation waits this long at most.
    #[serde(serialize_with = "serialize_duration")]
    pub timeout: Duration,
    /// The `connections` events forwarded; `messages` (invocations) always are when there is
    /// an upstream, since without it a serverless hub method has nowhere to run.
    #[serde(serialize_with = "serialize_names")]
    pub events: Vec<ConnectionEvent>,
}

impl Default for UpstreamConfig {
    fn default() -> Self {
        Self {
            url_template: None,
            timeout: Duration::from_secs(10),
            events: ConnectionEvent::ALL.to_vec(),
        }
    }
}

/// `[redis]`: the Redis deployment that joins nodes into a cluster (see
/// [`crate::backplane::redis`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RedisConfig {
    /// Which Redis to use; `None` (the default) runs a single node with the in-process
    /// backplane. Shown with passwords hidden.
    #[serde(serialize_with = "serialize_shown")]
    pub url: Option<RedisTarget>,
    /// Starts every key and channel name, so several Herald clusters (or tests) can share one
    /// Redis without seeing each other.
    pub prefix: String,
    /// Bytes of publishes kept while Redis is unreachable, sent in order once it is back;
    /// beyond it the oldest are dropped (and counted) so an outage cannot exhaust memory.
    pub outage_buffer: usize,
    /// Longest wait for one connection attempt (and one reply) before it counts as failed.
    #[serde(serialize_with = "serialize_duration")]
    pub connect_timeout: Duration,
    /// The password (`AUTH`), instead of one in the URL; `env:NAME` reads it from `NAME`.
    #[serde(serialize_with = "serialize_secret")]
    pub password: Option<SecretText>,
    /// PEM file of the CA(s) that sign the server's certificate (`rediss://`), instead of the
    /// system roots: a private CA.
    pub tls_ca_file: Option<PathBuf>,
    /// PEM client certificate (chain) for servers that require one; with `tls_key_file`.
    pub tls_cert_file: Option<PathBuf>,
    /// PEM private key of `tls_cert_file`.
    pub tls_key_file: Option<PathBuf>,
    /// Accepts any server certificate: for tests only, logged as a warning at every start.
    pub tls_insecure: bool,
}

impl Default for RedisConfig {
    fn default() -> Self {
        Self {
            url: None,
            prefix: "herald".to_owned(),
            outage_buffer: 16 * 1024 * 1024,
            connect_timeout: Duration::from_secs(5),
            password: None,
            tls_ca_file: None,
            tls_cert_file: None,
            tls_key_file: None,
            tls_insecure: false,
        }
    }
}

/// `[admin]`: who may use the admin API and where other nodes reach it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Default)]
pub struct AdminConfig {
    /// The bearer token every `/api/admin/*` request must carry; `None` leaves the admin API
    /// open for reading and refuses its mutating calls. `env:NAME` reads it from `NAME`.
    #[serde(serialize_with = "serialize_secret")]
    pub token: Option<SecretText>,
    /// The base URL other nodes use to reach this node's admin listener for the cluster view;
    /// `None` means `http://{admin_listen}`, with a wildcard address replaced by the host of
    /// `cluster.advertise_url`.
    #[serde(serialize_with = "serialize_shown")]
    pub advertise_url: Option<Url>,
}

/// Serializes a secret as `(redacted)`, or none.
fn serialize_secret<S: Serializer>(value: &Option<SecretText>, s: S) -> Result<S::Ok, S::Error> {
    match value {
        Some(_) => s.serialize_str("(redacted)"),
        None => s.serialize_none(),
    }
}

/// `[cluster]`: how nodes find, watch and reach each other.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ClusterConfig {
    /// The internal base URL other nodes use to forward requests to this node; `None` means
    /// `http://{listen}`, which is wrong when `listen` is a wildcard address such as 0.0.0.0.
    #[serde(serialize_with = "serialize_shown")]
    pub advertise_url: Option<Url>,
    /// How often this node renews its registration, so the others know it is alive.
    #[serde(serialize_with = "serialize_duration")]
    pub heartbeat_interval: Duration,
    /// How long a registration lives without renewal; more than two heartbeats, so one lost
    /// heartbeat does not evict a healthy node.
    #[serde(serialize_with = "serialize_duration")]
    pub node_ttl: Duration,
    /// Longest wait for another node to answer a forwarded request.
    #[serde(serialize_with = "serialize_duration")]
    pub request_timeout: Duration,
}

impl Default for ClusterConfig {
    fn default() -> Self {
        Self {
            advertise_url: None,
            heartbeat_interval: Duration::from_secs(2),
            node_ttl: Duration::from_secs(10),
            request_timeout: Duration::from_secs(5),
        }
    }
}

/// Serializes an optional value through its `Display` (which hides secrets where there are any).
fn serialize_shown<T: fmt::Display, S: Serializer>(
    value: &Option<T>,
    s: S,
) -> Result<S::Ok, S::Error> {
    match value {
        Some(value) => s.collect_str(value),
        None => s.serialize_none(),
    }
}

fn serialize_redacted<S: Serializer>(
    template: &Option<UrlTemplate>,
    s: S,
) -> Result<S::Ok, S::Error> {
    match template {
        Some(template) => s.collect_str(template),
        None => s.serialize_none(),
    }
}

fn serialize_names<S: Serializer>(events: &[ConnectionEvent], s: S) -> Result<S::Ok, S::Error> {
    s.collect_seq(events.iter().map(|e| e.as_str()))
}
