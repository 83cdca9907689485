//! The `[redis]` and `[cluster]` tables: defaults, every key from TOML and the environment,
//! refusals, and secrets kept out of the summary and errors.

use std::time::Duration;

use super::tests::{FULL_TOML, error_text, from_env, from_toml};
use crate::backplane::redis::RedisTarget;

#[test]
fn defaults_run_without_redis() {
    let c = from_toml("").unwrap();
    assert!(c.redis.url.is_none());
    assert_eq!(c.redis.prefix, "herald");
    assert_eq!(c.redis.outage_buffer, 16 * 1024 * 1024);
    assert_eq!(c.redis.connect_timeout, Duration::from_secs(5));
    assert!(c.cluster.advertise_url.is_none());
    assert_eq!(c.cluster.heartbeat_interval, Duration::from_secs(2));
    assert_eq!(c.cluster.node_ttl, Duration::from_secs(10));
    assert_eq!(c.cluster.request_timeout, Duration::from_secs(5));
    assert_eq!(c.advertise_url().as_str(), "http://127.0.0.1:8080/");
    let summary = c.summary();
    assert!(
        summary.lines().any(|l| l == "redis.url = (not set)"),
        "{summary}"
    );
    assert!(
        summary
            .lines()
            .any(|l| l == "cluster.advertise_url = (not set)"),
        "{summary}"
    );
}

#[test]
fn toml_sets_every_redis_and_cluster_key() {
    let c = from_toml(FULL_TOML).unwrap();
    assert_eq!(
        c.redis.url,
        Some(RedisTarget::Sentinel {
            sentinels: vec![
                "redis://:s3cret@s1:26379".into(),
                "redis://:s3cret@s2:26379".into()
            ],
            master: "mymaster".into(),
            db: 0,
        })
    );
    assert_eq!(c.redis.prefix, "staging");
    assert_eq!(c.redis.outage_buffer, 1 << 20);
    assert_eq!(c.redis.connect_timeout, Duration::from_secs(2));
    assert_eq!(c.advertise_url().as_str(), "http://10.0.0.7:8080/");
    assert_eq!(c.cluster.heartbeat_interval, Duration::from_secs(1));
    assert_eq!(c.cluster.node_ttl, Duration::from_secs(5));
    assert_eq!(c.cluster.request_timeout, Duration::from_secs(3));
}

#[test]
fn env_sets_every_redis_and_cluster_key() {
    let c = from_env(&[
        ("HERALD_REDIS_URL", "redis+cluster://a:7000,b:7001"),
        ("HERALD_REDIS_PREFIX", "t-1"),
        ("HERALD_REDIS_OUTAGE_BUFFER", "65536"),
        ("HERALD_REDIS_CONNECT_TIMEOUT", "750ms"),
        (
            "HERALD_CLUSTER_ADVERTISE_URL",
            "https://node-1.internal:8443",
        ),
        ("HERALD_CLUSTER_HEARTBEAT_INTERVAL", "3s"),
        ("HERALD_CLUSTER_NODE_TTL", "7s"),
        ("HERALD_CLUSTER_REQUEST_TIMEOUT", "1s"),
    ])
    .unwrap();
    assert_eq!(
        c.redis.url,
        Some(RedisTarget::Cluster(vec![
            "redis://a:7000".into(),
            "redis://b:7001".into()
        ]))
    );
    assert_eq!(c.redis.prefix, "t-1");
    assert_eq!(c.redis.outage_buffer, 65536);
    assert_eq!(c.redis.connect_timeout, Duration::from_millis(750));
    assert_eq!(c.advertise_url().as_str(), "https://node-1.internal:8443/");
    assert_eq!(c.cluster.heartbeat_interval, Duration::from_secs(3));
    assert_eq!(c.cluster.node_ttl, Duration::from_secs(7));
    assert_eq!(c.cluster.request_timeout, Duration::from_secs(1));
}

#[test]
fn empty_values_clear_the_optional_urls() {
    let c = crate::config::Config::from_toml_str(
        FULL_TOML,
        super::tests::env(&[
            ("HERALD_REDIS_URL", " "),
            ("HERALD_CLUSTER_ADVERTISE_URL", ""),
        ]),
    )
    .unwrap();
    assert!(c.redis.url.is_none());
    assert!(c.cluster.advertise_url.is_none());
}

#[test]
fn summary_hides_redis_passwords() {
    let c = from_toml(FULL_TOML).unwrap();
    let summary = c.summary();
    assert!(!summary.contains("s3cret"), "{summary}");
    assert!(!format!("{c:?}").contains("s3cret"));
    assert!(
        summary.lines().any(|l| l
            == "redis.url = sentinel [redis://:***@s1:26379, redis://:***@s2:26379] master mymaster db 0"),
        "{summary}"
    );
    assert!(
        summary
            .lines()
            .any(|l| l == "redis.outage_buffer = 1048576"),
        "{summary}"
    );
    assert!(
        summary
            .lines()
            .any(|l| l == "cluster.advertise_url = http://10.0.0.7:8080/"),
        "{summary}"
    );
    assert!(
        summary.lines().any(|l| l == "cluster.node_ttl = 5s"),
        "{summary}"
    );
}

#[test]
fn bad_values_name_the_key_and_the_expected_form() {
    let cases: &[(&str, &str, &str)] = &[
        (
            "HERALD_REDIS_URL",
            "localhost:6379",
            "config key redis.url: missing scheme; write redis://host:6379",
        ),
        (
            "HERALD_REDIS_URL",
            "redis://:s3cret@a,b",
            "use redis+cluster:// for several",
        ),
        (
            "HERALD_REDIS_PREFIX",
            " ",
            "config key redis.prefix: expected a non-empty prefix without whitespace",
        ),
        (
            "HERALD_REDIS_PREFIX",
            "my app",
            "config key redis.prefix: expected a non-empty prefix",
        ),
        (
            "HERALD_REDIS_OUTAGE_BUFFER",
            "65535",
            "config key redis.outage_buffer: expected a whole number of bytes between 65536 and 1073741824",
        ),
        (
            "HERALD_REDIS_OUTAGE_BUFFER",
            "1073741825",
            "got \"1073741825\"",
        ),
        (
            "HERALD_REDIS_CONNECT_TIMEOUT",
            "0s",
            "config key redis.connect_timeout: expected a duration",
        ),
        (
            "HERALD_CLUSTER_ADVERTISE_URL",
            "10.0.0.7:8080",
            "config key cluster.advertise_url: expected an absolute http:// or https:// URL",
        ),
        (
            "HERALD_CLUSTER_ADVERTISE_URL",
            "ws://10.0.0.7",
            "expected an absolute http:// or https:// URL",
        ),
        (
            "HERALD_CLUSTER_HEARTBEAT_INTERVAL",
            "soon",
            "config key cluster.heartbeat_interval: expected a duration",
        ),
        (
            "HERALD_CLUSTER_REQUEST_TIMEOUT",
            "0ms",
            "config key cluster.request_timeout: expected a duration",
        ),
    ];
    for (var, value, expected) in cases {
        let text = error_text(from_env(&[(var, value)]));
        assert!(text.contains(expected), "{var}={value}: {text}");
        assert!(!text.contains("s3cret"), "{var}={value}: {text}");
    }
    let text = error_text(from_toml("[redis]\nurl = 5"));
    assert!(
        text.starts_with("config key redis.url: expected a string"),
        "{text}"
    );
}

#[test]
fn node_ttl_must_outlive_two_heartbeats() {
    let text = error_text(from_env(&[("HERALD_CLUSTER_NODE_TTL", "4s")]));
    assert!(
        text.starts_with(
            "config key cluster.node_ttl: must be more than twice cluster.heartbeat_interval, got 4s against 2s"
        ),
        "{text}"
    );
    let c = from_env(&[("HERALD_CLUSTER_NODE_TTL", "4001ms")]).unwrap();
    assert_eq!(c.cluster.node_ttl, Duration::from_millis(4001));
}

#[test]
fn redis_password_from_an_environment_variable_is_never_shown() {
    let c = from_env(&[
        ("HERALD_REDIS_URL", "rediss://cache.example:6380"),
        ("HERALD_REDIS_PASSWORD", "env:CACHE_KEY"),
        ("CACHE_KEY", "acc3ss-k3y"),
    ])
    .unwrap();
    assert_eq!(
        c.redis.password.as_ref().map(|p| p.expose()),
        Some("acc3ss-k3y")
    );
    let summary = c.summary();
    assert!(summary.contains("redis.password = (redacted)"), "{summary}");
    assert!(!summary.contains("acc3ss-k3y"), "{summary}");
    let e = error_text(from_env(&[
        ("HERALD_REDIS_URL", "rediss://cache.example:6380"),
        ("HERALD_REDIS_PASSWORD", "env:CACHE_KEY"),
    ]));
    assert!(
        e.contains("redis.password") && e.contains("CACHE_KEY"),
        "{e}"
    );
}

#[test]
fn redis_tls_settings_need_a_tls_url_and_go_together() {
    let ca = std::env::temp_dir().join("herald-config-test-ca.pem");
    std::fs::write(&ca, "not checked here").unwrap();
    let ca = ca.display().to_string();
    let e = error_text(from_env(&[
        ("HERALD_REDIS_URL", "redis://h:6379"),
        ("HERALD_REDIS_TLS_INSECURE", "true"),
    ]));
    assert!(
        e.contains("redis.tls_insecure") && e.contains("rediss://"),
        "{e}"
    );
    let e = error_text(from_env(&[
        ("HERALD_REDIS_URL", "rediss://h:6380"),
        ("HERALD_REDIS_TLS_CERT_FILE", &ca),
    ]));
    assert!(e.contains("redis.tls_key_file"), "{e}");
    let e = error_text(from_env(&[
        ("HERALD_REDIS_URL", "rediss://h:6380"),
        ("HERALD_REDIS_TLS_CA_FILE", "/nonexistent/ca.pem"),
    ]));
    assert!(
        e.contains("redis.tls_ca_file") && e.contains("/nonexistent/ca.pem"),
        "{e}"
    );
    let c = from_env(&[
        ("HERALD_REDIS_URL", "rediss+cluster://a:7000,b:7001"),
        ("HERALD_REDIS_TLS_CA_FILE", &ca),
    ])
    .unwrap();
    assert!(c.redis.url.as_ref().unwrap().uses_tls());
    assert_eq!(
        c.redis
            .tls_ca_file
            .as_ref()
            .map(|p| p.display().to_string()),
        Some(ca)
    );
}
