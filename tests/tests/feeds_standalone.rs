//! Feeds in standalone mode: no `herald coordinator`, an embedded one (the same balancer over
//! an in-memory lease table) gives every lease to the single node, which reads the
//! `redis-stream` partitions and pushes their changes. A feed that needs Redis without
//! `redis.url` stops start-up with an error naming the key.

use herald_tests::feed_sandbox::Producer;
use herald_tests::wait::deadline_in;
use herald_tests::{
    HeraldConfig, HeraldProcess, JsClient, JsOptions, RedisServer, unique, wait_until,
};
use std::collections::BTreeSet;

const HUB: &str = "prices";

fn feed_file(dir: &tempfile::TempDir, redis: Option<&str>, prefix: &str) -> String {
    let path = dir.path().join("herald.toml");
    let redis = redis.map_or(String::new(), |url| {
        format!("[redis]\nurl = \"{url}\"\nprefix = \"{prefix}\"\n\n")
    });
    let text = format!(
        "{redis}[[feeds]]\nname = \"prices\"\nsource = {{ kind = \"redis-stream\", partitions = 3 }}\nstart_from = \"beginning\"\nhub = \"{HUB}\"\ntarget = \"priceChanged\"\nto = \"all\"\n"
    );
    std::fs::write(&path, text).expect("write the config");
    path.display().to_string()
}

#[test]
fn a_standalone_node_reads_every_partition_itself() {
    let redis = RedisServer::start();
    let dir = tempfile::tempdir().expect("temporary directory");
    let prefix = unique("hs");
    let config = HeraldConfig::new().env(
        "HERALD_CONFIG",
        &feed_file(&dir, Some(&redis.url()), &prefix),
    );
    let herald = config.start();
    let options = JsOptions::new(
        &herald.client_url(HUB),
        herald.client_token(HUB, "watcher"),
        &["priceChanged"],
    );
    let mut client = JsClient::connect(&options);
    let mut producer = Producer::connect(&redis.url());
    let mut keys = BTreeSet::new();
    for n in 0..30 {
        let partition = n % 3;
        let position = producer.xadd(
            &format!("{prefix}:feed:prices:{partition}"),
            &format!(r#"{{"id":"s{n}","price":{n}}}"#),
        );
        keys.insert(format!("s{n}:{position}"));
    }
    let mut received = BTreeSet::new();
    while received.len() < keys.len() {
        let message = client.next_message();
        assert_eq!(message["target"], "priceChanged");
        let key = message["arguments"][1]["key"]
            .as_str()
            .expect("key")
            .to_owned();
        assert!(received.insert(key), "no duplicates without failures");
    }
    assert_eq!(received, keys);
    let leases = wait_until(deadline_in(5), || {
        herald_tests::metrics::sample(&herald.admin_get("/metrics").1, "herald_feed_leases")
            == Some(3.0)
    });
    assert!(leases, "the node reads all 3 leases\n{}", herald.log());
    assert!(
        herald.log().contains("coordinator=\"embedded\"") || herald.log().contains("embedded"),
        "{}",
        herald.log()
    );
    herald.assert_no_panic();
}

#[test]
fn a_redis_stream_feed_without_redis_url_is_a_named_error() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let config = HeraldConfig::new().env("HERALD_CONFIG", &feed_file(&dir, None, "x"));
    let mut herald = HeraldProcess::spawn(config);
    let status = herald
        .wait_exit(std::time::Duration::from_secs(20))
        .expect("herald exits");
    assert_eq!(status.code(), Some(2), "a configuration error exits 2");
    let log = herald.log();
    assert!(
        log.contains("config key feeds[0].source: redis-stream needs redis.url"),
        "{log}"
    );
}
