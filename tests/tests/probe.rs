//! `herald probe` makes one client and REST round trip through a load balancer without session
//! affinity in front of an authenticated two-node cluster, and fails with the step that broke.

use std::process::{Command, Output};

use herald_tests::binary::herald_binary;
use herald_tests::{ClusterBuilder, RedisServer, RoundRobinProxy};

fn probe(args: &[&str], connection_string: &str) -> Output {
    Command::new(herald_binary())
        .arg("probe")
        .args(args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HERALD_CONNECTION_STRING", connection_string)
        .output()
        .expect("run herald probe")
}

#[test]
fn a_probe_round_trips_through_the_balancer_and_names_a_failing_step() {
    let redis = RedisServer::start();
    let cluster = ClusterBuilder::new(&redis.url(), 2).authenticated().start();
    let proxy = RoundRobinProxy::for_cluster(&cluster);
    let connection_string = cluster
        .node(0)
        .config()
        .connection_string()
        .expect("an authenticated cluster has a connection string");

    let out = probe(
        &["--url", &proxy.base_url(), "--hub", "probe"],
        &connection_string,
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}{}\n{}",
        String::from_utf8_lossy(&out.stderr),
        cluster.logs()
    );
    assert!(stdout.starts_with("probe OK: "), "{stdout}");
    let per_backend = proxy.requests_per_backend();
    assert!(
        per_backend.iter().all(|&n| n > 0),
        "the probe's requests reached both nodes: {per_backend:?}"
    );

    // Signed with another key: negotiate is refused, and the error says so.
    let wrong = connection_string.replace("AccessKey=", "AccessKey=x");
    let out = probe(
        &[
            "--url",
            &proxy.base_url(),
            "--hub",
            "probe",
            "--timeout",
            "5s",
        ],
        &wrong,
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("negotiate: the server answered 401"),
        "{stderr}"
    );
    cluster.assert_no_panic();
}
