//! Redis over TLS with a password and a client certificate, against a real `redis-server`
//! started with a PKI the test makes: two nodes join through `rediss://` and a REST broadcast
//! on one reaches a JS client on the other; a wrong password and a certificate signed by an
//! untrusted CA are start errors that name the cause, within `redis.connect_timeout`.

use std::time::{Duration, Instant};

use herald_tests::js_client::{CONNECT_TIMEOUT, MESSAGE_TIMEOUT};
use herald_tests::ports::free_port;
use herald_tests::{
    ClusterBuilder, ClusterSandbox, HeraldConfig, HeraldProcess, JsClient, JsOptions, RedisCluster,
    RedisServer, TestPki,
};
use serde_json::json;

const PASSWORD: &str = "s3cret-pass";

/// A redis-server with a plain port (for the test's own `redis-cli`) and a TLS port that
/// requires a client certificate signed by the test CA; `AUTH` with [`PASSWORD`] required.
fn tls_redis(pki: &TestPki) -> (RedisServer, u16) {
    let tls_port = free_port();
    let args: Vec<String> = [
        "--tls-port",
        &tls_port.to_string(),
        "--tls-cert-file",
        &pki.file("server.pem"),
        "--tls-key-file",
        &pki.file("server.key"),
        "--tls-ca-cert-file",
        &pki.file("ca.pem"),
        "--tls-auth-clients",
        "yes",
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect();
    let redis = RedisServer::start_with(free_port(), &args);
    // Set after start: the helper's readiness PING has no password.
    assert_eq!(redis.cli(&["CONFIG", "SET", "requirepass", PASSWORD]), "OK");
    (redis, tls_port)
}

/// A node's environment for the TLS port with the client certificate.
fn tls_env(pki: &TestPki, tls_port: u16, ca: &str) -> Vec<(&'static str, String)> {
    vec![
        ("HERALD_REDIS_URL", format!("rediss://localhost:{tls_port}")),
        ("HERALD_REDIS_PASSWORD", "env:TEST_REDIS_SECRET".to_owned()),
        ("HERALD_REDIS_TLS_CA_FILE", pki.file(ca)),
        ("HERALD_REDIS_TLS_CERT_FILE", pki.file("client.pem")),
        ("HERALD_REDIS_TLS_KEY_FILE", pki.file("client.key")),
    ]
}

/// Broadcasts on node 0 until node 1's client gets one (node 1's subscription may still be on
/// its way when the first is sent).
fn assert_broadcast_crosses(cluster: &ClusterSandbox, hub: &str) {
    let options = JsOptions::new(&cluster.client_url(1, hub), None, &["msg"]);
    let mut client = JsClient::connect(&options);
    let sent = json!(["over tls"]);
    let mut delivered = false;
    let deadline = Instant::now() + MESSAGE_TIMEOUT + CONNECT_TIMEOUT;
    while !delivered && Instant::now() < deadline {
        let reply = cluster.rest(0).broadcast(hub, "msg", &sent);
        assert_eq!(reply.status, 202, "broadcast: {}", reply.body);
        let event = client.driver().next_event(Duration::from_secs(2));
        delivered = event.is_some_and(|e| e["event"] == "message" && e["arguments"] == sent);
    }
    assert!(
        delivered,
        "node 1's client got nothing from node 0 over TLS; logs:\n{}",
        cluster.logs()
    );
}

#[test]
fn nodes_join_over_tls_with_a_password_and_a_client_certificate() {
    let pki = TestPki::new();
    let (redis, tls_port) = tls_redis(&pki);
    let mut builder = ClusterBuilder::new(&format!("rediss://localhost:{tls_port}"), 2)
        .env("TEST_REDIS_SECRET", PASSWORD);
    for (name, value) in tls_env(&pki, tls_port, "ca.pem") {
        builder = builder.env(name, &value);
    }
    let cluster = builder.start();
    assert_broadcast_crosses(&cluster, "tls");
    // Both nodes are clients of the TLS port (the plain port is only the test's).
    let clients = redis.cli(&["-a", PASSWORD, "--no-auth-warning", "CLIENT", "LIST"]);
    assert!(
        clients.lines().filter(|l| l.contains("name=")).count() >= 2,
        "redis lists the nodes' connections: {clients}"
    );
    cluster.assert_no_panic();
}

#[test]
fn a_tls_redis_cluster_carries_sharded_broadcasts() {
    let pki = TestPki::new();
    let redis = RedisCluster::start_tls(&pki);
    let cluster = ClusterBuilder::new(&redis.tls_url(), 2)
        .env("HERALD_REDIS_TLS_CA_FILE", &pki.file("ca.pem"))
        .start();
    assert_broadcast_crosses(&cluster, "tlscluster");
    cluster.assert_no_panic();
}

/// Starts `herald node` with `env` and returns its exit code and log once it exits; the start
/// must fail within the 2 s connect timeout plus margin, never hang.
fn failed_start(env: &[(&'static str, String)]) -> (Option<i32>, String) {
    let mut config = HeraldConfig::new()
        .subcommand("node")
        .env("HERALD_AUTH_ALLOW_ANONYMOUS", "true")
        .env("HERALD_REDIS_CONNECT_TIMEOUT", "2s")
        .env("TEST_REDIS_SECRET", "not-the-password");
    for (name, value) in env {
        config = config.env(name, value);
    }
    let mut node = HeraldProcess::spawn(config);
    let status = node.wait_exit(Duration::from_secs(15));
    let log = node.log();
    assert!(
        status.is_some(),
        "herald node did not exit on a failed redis start; log:\n{log}"
    );
    node.assert_no_panic();
    (status.and_then(|s| s.code()), log)
}

#[test]
fn a_wrong_password_is_a_start_error_saying_wrongpass() {
    let pki = TestPki::new();
    let (_redis, tls_port) = tls_redis(&pki);
    let (code, log) = failed_start(&tls_env(&pki, tls_port, "ca.pem"));
    assert_ne!(code, Some(0), "log:\n{log}");
    assert!(
        log.contains("WRONGPASS"),
        "the error names WRONGPASS:\n{log}"
    );
    assert!(
        log.contains("redis.password"),
        "the error says which key to fix:\n{log}"
    );
    assert!(
        !log.contains("not-the-password"),
        "the password is never logged:\n{log}"
    );
}

#[test]
fn an_untrusted_server_certificate_is_a_start_error_saying_so() {
    let pki = TestPki::new();
    let (_redis, tls_port) = tls_redis(&pki);
    let (code, log) = failed_start(&tls_env(&pki, tls_port, "other-ca.pem"));
    assert_ne!(code, Some(0), "log:\n{log}");
    assert!(
        log.contains("certificate not trusted"),
        "the error says why:\n{log}"
    );
    assert!(
        log.contains("redis.tls_ca_file"),
        "the error says which key to fix:\n{log}"
    );
}

#[test]
fn a_tls_file_with_a_plain_url_or_a_missing_file_is_a_config_error_naming_the_key() {
    let pki = TestPki::new();
    let (code, log) = failed_start(&[
        ("HERALD_REDIS_URL", "redis://127.0.0.1:1".to_owned()),
        ("HERALD_REDIS_TLS_CA_FILE", pki.file("ca.pem")),
    ]);
    assert_eq!(code, Some(2), "log:\n{log}");
    assert!(
        log.contains("redis.tls_ca_file") && log.contains("rediss://"),
        "{log}"
    );
    let (code, log) = failed_start(&[
        ("HERALD_REDIS_URL", "rediss://127.0.0.1:1".to_owned()),
        ("HERALD_REDIS_TLS_CA_FILE", pki.file("missing.pem")),
    ]);
    assert_eq!(code, Some(2), "log:\n{log}");
    assert!(
        log.contains("redis.tls_ca_file") && log.contains("missing.pem"),
        "{log}"
    );
}
