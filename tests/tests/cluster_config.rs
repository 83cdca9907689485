//! `herald node` refuses to start without what a cluster node needs: a Redis URL, and either an
//! access key or an explicit opt-in to anonymous clients. Each refusal exits non-zero with an
//! error naming the missing setting.

use herald_tests::{HeraldConfig, HeraldProcess, RedisServer};
use std::time::Duration;

/// How long a node that refuses its configuration may take to exit.
const EXIT_TIMEOUT: Duration = Duration::from_secs(15);

/// Spawns `config`, waits for it to exit, asserts a failure status and returns its log.
fn refused(config: HeraldConfig) -> String {
    let mut node = HeraldProcess::spawn(config);
    let status = node
        .wait_exit(EXIT_TIMEOUT)
        .unwrap_or_else(|| panic!("herald node kept running; log:\n{}", node.log()));
    assert!(
        !status.success(),
        "herald node exited successfully ({status}); log:\n{}",
        node.log()
    );
    node.log()
}

#[test]
fn a_node_without_redis_url_refuses_to_start() {
    let config = HeraldConfig::new()
        .subcommand("node")
        .env("HERALD_NODE_ID", "n1")
        .env("HERALD_REDIS_PREFIX", &herald_tests::unique("hc"));
    let log = refused(config);
    assert!(
        log.contains("redis.url"),
        "the error does not name redis.url:\n{log}"
    );
}

#[test]
fn a_node_without_key_or_anonymous_opt_in_refuses_to_start() {
    // A reachable Redis: the refusal must be about authentication, not the backplane.
    let redis = RedisServer::start();
    let config = HeraldConfig::new()
        .anonymous()
        .subcommand("node")
        .env("HERALD_NODE_ID", "n1")
        .env("HERALD_REDIS_URL", &redis.url())
        .env("HERALD_REDIS_PREFIX", &herald_tests::unique("hc"));
    let log = refused(config);
    assert!(
        log.contains("connection_string"),
        "the error does not name connection_string:\n{log}"
    );
}

#[test]
fn a_node_with_redis_and_anonymous_opt_in_starts() {
    let redis = RedisServer::start();
    let node = HeraldConfig::new()
        .anonymous()
        .subcommand("node")
        .env("HERALD_NODE_ID", "n1")
        .env("HERALD_REDIS_URL", &redis.url())
        .env("HERALD_REDIS_PREFIX", &herald_tests::unique("hc"))
        .env("HERALD_AUTH_ALLOW_ANONYMOUS", "true")
        .start();
    assert_eq!(node.admin_get("/readyz").0, 200);
    node.assert_no_panic();
}
