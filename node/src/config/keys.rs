//! The one table of settings: TOML key, environment variable and kind of value.
//!
//! A new setting is a new row here plus its field; both layers, the unknown-key checks, the
//! suggestions and the coverage test all read this table.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use herald_proto::ids::{HubName, NodeId};
use url::Url;

use super::{Config, LogFormat, TransportType};
use crate::auth::ConnectionString;
use crate::backplane::redis::RedisTarget;
use crate::upstream::{ConnectionEvent, UrlTemplate};

/// One setting.
pub(crate) struct Key {
    /// The dotted TOML key, e.g. `client.keep_alive`.
    pub key: &'static str,
    /// The environment variable: `HERALD_` + the key with '.' as '_', uppercased.
    pub env: &'static str,
    /// How the value is written, checked and stored.
    pub kind: Kind,
}

/// A field of [`Config`], reached through the accessor each kind carries.
type Field<T> = fn(&mut Config) -> &mut T;

/// The kinds of values, each with the field it is stored in.
pub(crate) enum Kind {
    /// `ip:port`.
    Addr(Field<SocketAddr>),
    /// A DNS-label node id.
    NodeId(Field<NodeId>),
    /// An Azure-style connection string; empty means none.
    ConnectionString(Field<Option<ConnectionString>>),
    /// Hub names: a TOML array, or comma-separated in the environment.
    Hubs(Field<Vec<HubName>>),
    /// A `tracing` `EnvFilter` directive.
    LogFilter(Field<String>),
    /// `text` or `json`.
    LogFormat(Field<LogFormat>),
    /// `true` or `false`.
    Bool(Field<bool>),
    /// A positive humantime duration such as `15s`.
    Duration(Field<Duration>),
    /// A number of bytes within bounds.
    Bytes {
        min: usize,
        max: usize,
        field: Field<usize>,
    },
    /// A count within bounds.
    Count {
        min: usize,
        max: usize,
        field: Field<usize>,
    },
    /// Transport names: a TOML array, or comma-separated in the environment.
    Transports(Field<Vec<TransportType>>),
    /// An upstream URL template; empty means none.
    UrlTemplate(Field<Option<UrlTemplate>>),
    /// Connection event names, possibly none: a TOML array, or comma-separated.
    ConnectionEvents(Field<Vec<ConnectionEvent>>),
    /// A `redis://`, `redis+cluster://` or `redis+sentinel://` URL; empty means none.
    RedisUrl(Field<Option<RedisTarget>>),
    /// A key prefix: non-empty, without whitespace.
    Prefix(Field<String>),
    /// An absolute http:// or https:// URL; empty means none.
    HttpUrl(Field<Option<Url>>),
    /// A secret string (never echoed); empty means none.
    Secret(Field<Option<super::SecretText>>),
    /// The path of a readable file; empty means none.
    File(Field<Option<PathBuf>>),
}

const KIB: usize = 1024;
const MIB: usize = 1024 * KIB;
const GIB: usize = 1024 * MIB;

/// Every setting. Order is the order of the summary.
pub(crate) static KEYS: &[Key] = &[
    setting("listen", "HERALD_LISTEN", Kind::Addr(|c| &mut c.listen)),
    setting(
        "admin_listen",
        "HERALD_ADMIN_LISTEN",
        Kind::Addr(|c| &mut c.admin_listen),
    ),
    setting(
        "node_id",
        "HERALD_NODE_ID",
        Kind::NodeId(|c| &mut c.node_id),
    ),
    setting(
        "connection_string",
        "HERALD_CONNECTION_STRING",
        Kind::ConnectionString(|c| &mut c.connection_string),
    ),
    setting("hubs", "HERALD_HUBS", Kind::Hubs(|c| &mut c.hubs)),
    setting(
        "log.level",
        "HERALD_LOG_LEVEL",
        Kind::LogFilter(|c| &mut c.log.level),
    ),
    setting(
        "log.format",
        "HERALD_LOG_FORMAT",
        Kind::LogFormat(|c| &mut c.log.format),
    ),
    setting(
        "auth.allow_anonymous",
        "HERALD_AUTH_ALLOW_ANONYMOUS",
        Kind::Bool(|c| &mut c.auth.allow_anonymous),
    ),
    setting(
        "auth.token_ttl",
        "HERALD_AUTH_TOKEN_TTL",
        Kind::Duration(|c| &mut c.auth.token_ttl),
    ),
    setting(
        "client.keep_alive",
        "HERALD_CLIENT_KEEP_ALIVE",
        Kind::Duration(|c| &mut c.client.keep_alive),
    ),
    setting(
        "client.timeout",
        "HERALD_CLIENT_TIMEOUT",
        Kind::Duration(|c| &mut c.client.timeout),
    ),
    setting(
        "client.handshake_timeout",
        "HERALD_CLIENT_HANDSHAKE_TIMEOUT",
        Kind::Duration(|c| &mut c.client.handshake_timeout),
    ),
    setting(
        "client.negotiate_timeout",
        "HERALD_CLIENT_NEGOTIATE_TIMEOUT",
        Kind::Duration(|c| &mut c.client.negotiate_timeout),
    ),
    setting(
        "client.poll_timeout",
        "HERALD_CLIENT_POLL_TIMEOUT",
        Kind::Duration(|c| &mut c.client.poll_timeout),
    ),
    setting(
        "client.disconnect_timeout",
        "HERALD_CLIENT_DISCONNECT_TIMEOUT",
        Kind::Duration(|c| &mut c.client.disconnect_timeout),
    ),
    setting(
        "client.reconnect_buffer",
        "HERALD_CLIENT_RECONNECT_BUFFER",
        Kind::Bytes {
            min: KIB,
            max: 64 * MIB,
            field: |c| &mut c.client.reconnect_buffer,
        },
    ),
    setting(
        "client.max_message_size",
        "HERALD_CLIENT_MAX_MESSAGE_SIZE",
        Kind::Bytes {
            min: KIB,
            max: 16 * MIB,
            field: |c| &mut c.client.max_message_size,
        },
    ),
    // The upper bound keeps channel allocations sane (tokio refuses huge capacities).
    setting(
        "client.outbound_queue",
        "HERALD_CLIENT_OUTBOUND_QUEUE",
        Kind::Count {
            min: 16,
            max: MIB,
            field: |c| &mut c.client.outbound_queue,
        },
    ),
    setting(
        "client.transports",
        "HERALD_CLIENT_TRANSPORTS",
        Kind::Transports(|c| &mut c.client.transports),
    ),
    setting(
        "rest.max_body_size",
        "HERALD_REST_MAX_BODY_SIZE",
        Kind::Bytes {
            min: KIB,
            max: 64 * MIB,
            field: |c| &mut c.rest.max_body_size,
        },
    ),
    setting(
        "shutdown.grace_period",
        "HERALD_SHUTDOWN_GRACE_PERIOD",
        Kind::Duration(|c| &mut c.shutdown.grace_period),
    ),
    setting(
        "upstream.url_template",
        "HERALD_UPSTREAM_URL_TEMPLATE",
        Kind::UrlTemplate(|c| &mut c.upstream.url_template),
    ),
    setting(
        "upstream.timeout",
        "HERALD_UPSTREAM_TIMEOUT",
        Kind::Duration(|c| &mut c.upstream.timeout),
    ),
    setting(
        "upstream.events",
        "HERALD_UPSTREAM_EVENTS",
        Kind::ConnectionEvents(|c| &mut c.upstream.events),
    ),
    setting(
        "demo.enabled",
        "HERALD_DEMO_ENABLED",
        Kind::Bool(|c| &mut c.demo.enabled),
    ),
    setting(
        "demo.writer",
        "HERALD_DEMO_WRITER",
        Kind::Bool(|c| &mut c.demo.writer),
    ),
    setting(
        "demo.interval",
        "HERALD_DEMO_INTERVAL",
        Kind::Duration(|c| &mut c.demo.interval),
    ),
    setting(
        "redis.url",
        "HERALD_REDIS_URL",
        Kind::RedisUrl(|c| &mut c.redis.url),
    ),
    setting(
        "redis.prefix",
        "HERALD_REDIS_PREFIX",
        Kind::Prefix(|c| &mut c.redis.prefix),
    ),
    setting(
        "redis.outage_buffer",
        "HERALD_REDIS_OUTAGE_BUFFER",
        Kind::Bytes {
            min: 64 * KIB,
            max: GIB,
            field: |c| &mut c.redis.outage_buffer,
        },
    ),
    setting(
        "redis.connect_timeout",
        "HERALD_REDIS_CONNECT_TIMEOUT",
        Kind::Duration(|c| &mut c.redis.connect_timeout),
    ),
    setting(
        "redis.password",
        "HERALD_REDIS_PASSWORD",
        Kind::Secret(|c| &mut c.redis.password),
    ),
    setting(
        "redis.tls_ca_file",
        "HERALD_REDIS_TLS_CA_FILE",
        Kind::File(|c| &mut c.redis.tls_ca_file),
    ),
    setting(
        "redis.tls_cert_file",
        "HERALD_REDIS_TLS_CERT_FILE",
        Kind::File(|c| &mut c.redis.tls_cert_file),
    ),
    setting(
        "redis.tls_key_file",
        "HERALD_REDIS_TLS_KEY_FILE",
        Kind::File(|c| &mut c.redis.tls_key_file),
    ),
    setting(
        "redis.tls_insecure",
        "HERALD_REDIS_TLS_INSECURE",
        Kind::Bool(|c| &mut c.redis.tls_insecure),
    ),
    setting(
        "cluster.advertise_url",
        "HERALD_CLUSTER_ADVERTISE_URL",
        Kind::HttpUrl(|c| &mut c.cluster.advertise_url),
    ),
    setting(
        "cluster.heartbeat_interval",
        "HERALD_CLUSTER_HEARTBEAT_INTERVAL",
        Kind::Duration(|c| &mut c.cluster.heartbeat_interval),
    ),
    setting(
        "cluster.node_ttl",
        "HERALD_CLUSTER_NODE_TTL",
        Kind::Duration(|c| &mut c.cluster.node_ttl),
    ),
    setting(
        "cluster.request_timeout",
        "HERALD_CLUSTER_REQUEST_TIMEOUT",
        Kind::Duration(|c| &mut c.cluster.request_timeout),
    ),
    setting(
        "admin.token",
        "HERALD_ADMIN_TOKEN",
        Kind::Secret(|c| &mut c.admin.token),
    ),
    setting(
        "admin.advertise_url",
        "HERALD_ADMIN_ADVERTISE_URL",
        Kind::HttpUrl(|c| &mut c.admin.advertise_url),
    ),
];

const fn setting(key: &'static str, env: &'static str, kind: Kind) -> Key {
    Key { key, env, kind }
}

/// The setting with this dotted key.
pub(crate) fn by_key(key: &str) -> Option<&'static Key> {
    KEYS.iter().find(|k| k.key == key)
}

/// The setting read from this environment variable.
pub(crate) fn by_env(var: &str) -> Option<&'static Key> {
    KEYS.iter().find(|k| k.env == var)
}

/// True when `prefix` names a table (`client`, `log`, ...) rather than a setting.
pub(crate) fn is_table(prefix: &str) -> bool {
    KEYS.iter().any(|k| {
        k.key
            .strip_prefix(prefix)
            .is_some_and(|rest| rest.starts_with('.'))
    })
}

/// Environment variables that are not settings and must not be reported as unknown.
pub(crate) fn is_exempt_env(var: &str) -> bool {
    var == "HERALD_CONFIG" || var.starts_with("HERALD_TEST_")
}
