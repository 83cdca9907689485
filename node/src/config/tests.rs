use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::time::Duration;

use super::keys::KEYS;
use super::summary::leaves;
use super::{Config, ConfigError, LogFormat, TransportType};
use crate::upstream::ConnectionEvent;

// Helpers shared with `rejections`.

pub(super) fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

pub(super) fn from_toml(toml: &str) -> Result<Config, ConfigError> {
    Config::from_toml_str(toml, env(&[]))
}

pub(super) fn from_env(pairs: &[(&str, &str)]) -> Result<Config, ConfigError> {
    Config::load(None, env(pairs))
}

pub(super) fn error_text(result: Result<Config, ConfigError>) -> String {
    match result {
        Ok(config) => panic!("expected an error, got {config:?}"),
        Err(e) => e.to_string(),
    }
}

pub(super) const FULL_TOML: &str = r#"
listen = "0.0.0.0:80"
admin_listen = "[::1]:9000"
node_id = "node-7"
connection_string = "Endpoint=https://push.example.com;AccessKey=k3y;Version=1.0;"
hubs = ["chat", "news"]

[log]
level = "herald=debug,info"
format = "JSON"

[auth]
allow_anonymous = true
token_ttl = "2h"

[client]
keep_alive = "5s"
timeout = "1m"
handshake_timeout = "3s"
negotiate_timeout = "4s"
max_message_size = 65536
outbound_queue = 64
transports = ["websockets", "LongPolling"]

[rest]
max_body_size = 2048

[shutdown]
grace_period = "500ms"

[upstream]
url_template = "https://fn.example.com/runtime/webhooks/signalr?code=fnk3y&e={event}"
timeout = "3s"
events = ["Disconnected"]

[redis]
url = "redis+sentinel://:s3cret@s1:26379,s2:26379/mymaster"
prefix = "staging"
outage_buffer = 1048576
connect_timeout = "2s"

[cluster]
advertise_url = "http://10.0.0.7:8080"
heartbeat_interval = "1s"
node_ttl = "5s"
request_timeout = "3s"
"#;

#[test]
fn defaults() {
    let c = from_env(&[("HOSTNAME", "Pod-1.cluster"), ("PATH", "/bin")]).unwrap();
    assert_eq!(c.listen, "127.0.0.1:8080".parse::<SocketAddr>().unwrap());
    assert_eq!(
        c.admin_listen,
        "127.0.0.1:9090".parse::<SocketAddr>().unwrap()
    );
    assert_eq!(c.node_id.as_str(), "pod-1-cluster");
    assert!(c.connection_string.is_none());
    assert!(c.hubs.is_empty());
    assert_eq!(
        (c.log.level.as_str(), c.log.format),
        ("info", LogFormat::Text)
    );
    assert!(!c.auth.allow_anonymous);
    assert_eq!(c.auth.token_ttl, Duration::from_secs(3600));
    assert_eq!(c.client.keep_alive, Duration::from_secs(15));
    assert_eq!(c.client.timeout, Duration::from_secs(30));
    assert_eq!(c.client.handshake_timeout, Duration::from_secs(15));
    assert_eq!(c.client.negotiate_timeout, Duration::from_secs(15));
    assert_eq!(c.client.max_message_size, 32768);
    assert_eq!(c.client.outbound_queue, 1024);
    assert_eq!(c.client.transports, TransportType::ALL);
    assert_eq!(c.rest.max_body_size, 1 << 20);
    assert_eq!(c.shutdown.grace_period, Duration::from_secs(10));
    assert!(c.upstream.url_template.is_none());
    assert_eq!(c.upstream.timeout, Duration::from_secs(10));
    assert_eq!(c.upstream.events, ConnectionEvent::ALL);
    assert_eq!(c.endpoint().as_str(), "http://127.0.0.1:8080/");
    assert!(Config::default().node_id.as_str().starts_with("herald-"));
}

#[test]
fn toml_sets_every_key() {
    let c = from_toml(FULL_TOML).unwrap();
    assert_eq!(c.listen.to_string(), "0.0.0.0:80");
    assert_eq!(c.admin_listen.to_string(), "[::1]:9000");
    assert_eq!(c.node_id.as_str(), "node-7");
    assert_eq!(c.endpoint().as_str(), "https://push.example.com/");
    assert_eq!(
        c.hubs.iter().map(|h| h.as_str()).collect::<Vec<_>>(),
        ["chat", "news"]
    );
    assert_eq!(c.log.level, "herald=debug,info");
    assert_eq!(c.log.format, LogFormat::Json);
    assert!(c.auth.allow_anonymous);
    assert_eq!(c.auth.token_ttl, Duration::from_secs(7200));
    assert_eq!(c.client.keep_alive, Duration::from_secs(5));
    assert_eq!(c.client.timeout, Duration::from_secs(60));
    assert_eq!(c.client.handshake_timeout, Duration::from_secs(3));
    assert_eq!(c.client.negotiate_timeout, Duration::from_secs(4));
    assert_eq!(c.client.max_message_size, 65536);
    assert_eq!(c.client.outbound_queue, 64);
    assert_eq!(
        c.client.transports,
        [TransportType::WebSockets, TransportType::LongPolling]
    );
    assert_eq!(c.rest.max_body_size, 2048);
    assert_eq!(c.shutdown.grace_period, Duration::from_millis(500));
    let template = c.upstream.url_template.as_ref().unwrap();
    assert_eq!(
        template.as_str(),
        "https://fn.example.com/runtime/webhooks/signalr?code=fnk3y&e={event}"
    );
    assert_eq!(c.upstream.timeout, Duration::from_secs(3));
    assert_eq!(c.upstream.events, [ConnectionEvent::Disconnected]);
}

#[test]
fn dotted_toml_keys_work_like_tables() {
    let c = from_toml("client.keep_alive = \"2s\"\nlog.format = \"json\"").unwrap();
    assert_eq!(c.client.keep_alive, Duration::from_secs(2));
    assert_eq!(c.log.format, LogFormat::Json);
}

#[test]
fn env_beats_toml() {
    let vars = env(&[
        ("HERALD_LISTEN", "127.0.0.1:1"),
        ("HERALD_HUBS", "a, b ,c"),
        ("HERALD_LOG_FORMAT", "text"),
        ("HERALD_AUTH_ALLOW_ANONYMOUS", "false"),
        ("HERALD_CLIENT_TIMEOUT", "90s"),
        ("HERALD_CLIENT_TRANSPORTS", "ServerSentEvents"),
        ("HERALD_CLIENT_MAX_MESSAGE_SIZE", "1024"),
        ("HERALD_CONNECTION_STRING", ""),
        ("HERALD_NODE_ID", "from-env"),
    ]);
    let c = Config::from_toml_str(FULL_TOML, vars).unwrap();
    assert_eq!(c.listen.to_string(), "127.0.0.1:1");
    assert_eq!(
        c.hubs.iter().map(|h| h.as_str()).collect::<Vec<_>>(),
        ["a", "b", "c"]
    );
    assert_eq!(c.log.format, LogFormat::Text);
    assert!(!c.auth.allow_anonymous);
    assert_eq!(c.client.timeout, Duration::from_secs(90));
    assert_eq!(
        c.client.keep_alive,
        Duration::from_secs(5),
        "untouched TOML value stays"
    );
    assert_eq!(c.client.transports, [TransportType::ServerSentEvents]);
    assert_eq!(c.client.max_message_size, 1024);
    assert!(c.connection_string.is_none(), "an empty variable clears it");
    assert_eq!(c.node_id.as_str(), "from-env");
}

#[test]
fn every_env_var_is_read() {
    let c = from_env(&[
        ("HERALD_ADMIN_LISTEN", "127.0.0.1:2"),
        (
            "HERALD_CONNECTION_STRING",
            "Endpoint=http://h:1;Port=2;AccessKey=k",
        ),
        ("HERALD_LOG_LEVEL", "debug"),
        ("HERALD_AUTH_TOKEN_TTL", "10m"),
        ("HERALD_CLIENT_KEEP_ALIVE", "1s"),
        ("HERALD_CLIENT_HANDSHAKE_TIMEOUT", "2s"),
        ("HERALD_CLIENT_NEGOTIATE_TIMEOUT", "3s"),
        ("HERALD_CLIENT_OUTBOUND_QUEUE", "16"),
        ("HERALD_REST_MAX_BODY_SIZE", "4096"),
        ("HERALD_SHUTDOWN_GRACE_PERIOD", "1m 30s"),
        ("HERALD_AUTH_ALLOW_ANONYMOUS", "TRUE"),
        (
            "HERALD_UPSTREAM_URL_TEMPLATE",
            "http://127.0.0.1:7071/api/{hub}/{category}/{event}",
        ),
        ("HERALD_UPSTREAM_TIMEOUT", "250ms"),
        ("HERALD_UPSTREAM_EVENTS", "connected, disconnected"),
    ])
    .unwrap();
    assert_eq!(c.admin_listen.port(), 2);
    assert_eq!(c.endpoint().as_str(), "http://h:2/");
    assert_eq!(c.log.level, "debug");
    assert_eq!(c.auth.token_ttl, Duration::from_secs(600));
    assert_eq!(c.client.keep_alive, Duration::from_secs(1));
    assert_eq!(c.client.handshake_timeout, Duration::from_secs(2));
    assert_eq!(c.client.negotiate_timeout, Duration::from_secs(3));
    assert_eq!(c.client.outbound_queue, 16);
    assert_eq!(c.rest.max_body_size, 4096);
    assert_eq!(c.shutdown.grace_period, Duration::from_secs(90));
    assert!(c.auth.allow_anonymous);
    assert_eq!(
        c.upstream.url_template.unwrap().as_str(),
        "http://127.0.0.1:7071/api/{hub}/{category}/{event}"
    );
    assert_eq!(c.upstream.timeout, Duration::from_millis(250));
    assert_eq!(c.upstream.events, ConnectionEvent::ALL);
}

#[test]
fn upstream_can_be_cleared_and_connection_events_turned_off() {
    let vars = env(&[
        ("HERALD_UPSTREAM_URL_TEMPLATE", " "),
        ("HERALD_UPSTREAM_EVENTS", ""),
    ]);
    let c = Config::from_toml_str(FULL_TOML, vars).unwrap();
    assert!(c.upstream.url_template.is_none());
    assert!(c.upstream.events.is_empty());
    let c = from_toml("[upstream]\nevents = []").unwrap();
    assert!(c.upstream.events.is_empty());
}

#[test]
fn exempt_and_foreign_env_vars_are_ignored() {
    let c = from_env(&[
        ("HERALD_CONFIG", "/etc/herald.toml"),
        ("HERALD_TEST_SEED", "1"),
        ("HERALDRY", "x"),
        ("herald_listen", "nonsense"),
    ]);
    assert!(c.is_ok(), "{c:?}");
}

#[test]
fn summary_lists_every_key_and_redacts_secrets() {
    let c = from_toml(FULL_TOML).unwrap();
    let summary = c.summary();
    assert!(!summary.contains("k3y"), "{summary}");
    assert!(format!("{c:?}").contains("AccessKey(<redacted>)"));
    assert!(!format!("{c:?}").contains("k3y"));
    assert!(lines_contain(
        &summary,
        "upstream.url_template = https://fn.example.com/runtime/webhooks/signalr?<redacted>"
    ));
    assert!(lines_contain(&summary, "upstream.timeout = 3s"));
    assert!(lines_contain(&summary, "upstream.events = [disconnected]"));
    let lines: Vec<&str> = summary.lines().collect();
    assert_eq!(lines.len(), KEYS.len(), "{summary}");
    assert_eq!(lines[0], "listen = 0.0.0.0:80");
    assert!(lines.contains(
        &"connection_string = Endpoint=https://push.example.com;AccessKey=<redacted>;Version=1.0;"
    ));
    assert!(lines.contains(&"hubs = [chat, news]"));
    assert!(lines.contains(&"client.keep_alive = 5s"));
    assert!(lines.contains(&"client.transports = [WebSockets, LongPolling]"));
    assert!(lines.contains(&"shutdown.grace_period = 500ms"));
    let defaults = from_toml("").unwrap().summary();
    assert!(defaults.contains("connection_string = (not set)"));
    assert!(lines_contain(
        &defaults,
        "upstream.url_template = (not set)"
    ));
    assert!(lines_contain(
        &defaults,
        "upstream.events = [connected, disconnected]"
    ));
}

fn lines_contain(text: &str, line: &str) -> bool {
    text.lines().any(|l| l == line)
}

#[test]
fn key_table_covers_every_leaf_of_the_config() {
    let config = from_toml(FULL_TOML).unwrap();
    let leaves: BTreeSet<String> = leaves(&config).into_keys().collect();
    let table: BTreeSet<String> = KEYS.iter().map(|k| k.key.to_owned()).collect();
    assert_eq!(leaves, table);
    assert_eq!(table.len(), KEYS.len(), "duplicate keys in the table");
    for key in KEYS {
        let derived = format!("HERALD_{}", key.key.replace('.', "_").to_uppercase());
        assert_eq!(key.env, derived, "env name of {}", key.key);
    }
}
