//! From the chart to running processes: render the chart with the bundled-Redis profile, take
//! the node and coordinator containers' args, environment and `herald.toml` exactly as
//! rendered, start real `herald` processes with them (pod addresses and the Redis URL replaced
//! by local ones) against a real Redis, and show that a client connects, gets a REST broadcast
//! and a feed change, and that the `helm test` pod's command passes against them.

use std::path::Path;
use std::process::Command;

use herald_tests::chart::{self, args, environment, render};
use herald_tests::wait::{deadline_in, wait_until};
use herald_tests::{HeraldConfig, HeraldProcess, JsClient, JsOptions, Producer, RedisServer};
use serde_json::Value;

/// `HERALD_*` variables the test harness sets itself: the listeners go to free local ports.
const HARNESS: &[&str] = &["HERALD_LISTEN", "HERALD_ADMIN_LISTEN"];

/// A `HeraldConfig` for the rendered `container`: its args, its environment with the pod's
/// name and IP, `redis_url` for the Redis and `config_file` for the mounted `herald.toml`.
fn from_container(
    container: &Value,
    pod: &str,
    redis_url: &str,
    config_file: &Path,
) -> HeraldConfig {
    let rendered_args = args(container);
    assert_eq!(rendered_args.len(), 1, "one subcommand: {rendered_args:?}");
    let mut config = HeraldConfig::new()
        .subcommand(&rendered_args[0])
        .anonymous();
    let env = environment(container, |entry| {
        match entry["valueFrom"]["fieldRef"]["fieldPath"].as_str() {
            Some("metadata.name") => Some(pod.to_owned()),
            Some("status.podIP") => Some("127.0.0.1".to_owned()),
            // The profile creates no Secret: optional keys are absent.
            _ => None,
        }
    });
    let (listen, admin) = (config.listen_port, config.admin_port);
    for (name, value) in env {
        if HARNESS.contains(&name.as_str()) {
            continue;
        }
        let value = match name.as_str() {
            "HERALD_CONFIG" => config_file.display().to_string(),
            "HERALD_REDIS_URL" => redis_url.to_owned(),
            _ => value
                .replace("127.0.0.1:8080", &format!("127.0.0.1:{listen}"))
                .replace("127.0.0.1:9090", &format!("127.0.0.1:{admin}")),
        };
        config = config.env(&name, &value);
    }
    config
}

#[test]
fn the_rendered_chart_runs_a_cluster_that_serves_clients_rest_and_feeds() {
    let profile = chart::chart_dir().join("ci/bundled-redis-values.yaml");
    let rendered = render(Some(&profile));
    let redis = RedisServer::start();
    let dir = tempfile::tempdir().expect("a temp dir");
    let config_file = dir.path().join("herald.toml");
    std::fs::write(&config_file, rendered.herald_toml()).expect("write herald.toml");
    assert!(
        rendered
            .find("StatefulSet", "herald-redis")
            .is_some_and(|s| s["spec"]["volumeClaimTemplates"].is_array()),
        "the profile bundles a persistent Redis"
    );
    let rendered_url = rendered.container("herald-node")["env"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["name"] == "HERALD_REDIS_URL")
        .and_then(|e| e["value"].as_str())
        .unwrap()
        .to_owned();
    assert_eq!(
        rendered_url, "redis://herald-redis:6379",
        "the bundled Redis Service"
    );

    let node = rendered.container("herald-node");
    let coordinator = rendered.container("herald-coordinator");
    let _coordinator = HeraldProcess::spawn(from_container(
        coordinator,
        "herald-coordinator-5f7d8-a1b2c",
        &redis.url(),
        &config_file,
    ));
    let a = from_container(node, "herald-node-6c9f-aaaaa", &redis.url(), &config_file).start();
    let b = from_container(node, "herald-node-6c9f-bbbbb", &redis.url(), &config_file).start();

    // A client on node a; a REST broadcast through node b.
    let mut client = JsClient::connect(&JsOptions::new(
        &a.client_url("orders"),
        None,
        &["orderChanged", "news"],
    ));
    b.rest()
        .broadcast("orders", "news", &serde_json::json!(["rendered"]))
        .assert_status(202);
    client.expect_message("news", &serde_json::json!(["rendered"]));

    // A change on the profile's redis-stream feed reaches the client, read by whichever node
    // the coordinator gave the partition.
    let mut producer = Producer::connect(&redis.url());
    let owned = wait_until(deadline_in(30), || {
        let (_, body) = a.admin_get("/api/admin/leases");
        serde_json::from_str::<Value>(&body)
            .ok()
            .and_then(|l| l.as_array().cloned())
            .is_some_and(|l| l.len() == 4 && l.iter().all(|l| l["owner"].is_string()))
    });
    assert!(
        owned,
        "the feed's leases were never all owned:\n{}",
        a.log()
    );
    producer.xadd("herald:feed:orders:2", r#"{"id":"o-1","total":12.5}"#);
    let change = client.next_message();
    assert_eq!(change["target"], "orderChanged", "{change}");
    assert_eq!(change["arguments"][0]["id"], "o-1", "{change}");

    // The `helm test` pod's command, aimed at node a instead of the Service.
    let probe = chart::render(Some(&profile));
    let pod = probe.get("Pod", "herald-probe");
    let mut probe_args = args(&pod["spec"]["containers"][0]);
    let url = probe_args
        .iter()
        .position(|a| a == "--url")
        .expect("the probe names the Service URL");
    assert!(
        probe_args[url + 1].starts_with("http://herald."),
        "{probe_args:?}"
    );
    probe_args[url + 1] = a.base_url();
    let out = Command::new(herald_tests::binary::herald_binary())
        .args(&probe_args)
        .env_clear()
        .output()
        .expect("run the helm test command");
    assert!(
        out.status.success(),
        "{probe_args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    a.assert_no_panic();
    b.assert_no_panic();
}
