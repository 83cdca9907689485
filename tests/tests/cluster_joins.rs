//! Acknowledged means live: a group join (of a connection or of a user) that answered 2xx, and
//! a client whose handshake completed, receive every send made after that from any node, with
//! no retry and no wait; a join Redis cannot confirm answers 504. Node B reaches Redis over a
//! link with 30 ms of latency, so a join that answered before B's subscription took effect
//! would lose the send that follows it.

use std::time::Duration;

use herald_tests::feed_sandbox::signal;
use herald_tests::js_client::MESSAGE_TIMEOUT;
use herald_tests::proxy::TcpProxy;
use herald_tests::{ClusterBuilder, ClusterSandbox, JsClient, JsOptions, RedisServer, unique};
use serde_json::json;

/// Latency from node B to Redis.
const SLOW_LINK: Duration = Duration::from_millis(30);

/// Two nodes; B reaches Redis through a slow link (the proxy lives as long as the cluster).
fn slow_cluster(redis: &RedisServer, env: &[(&str, &str)]) -> (ClusterSandbox, TcpProxy) {
    let address = redis.address().parse().expect("redis address");
    let proxy = TcpProxy::with_upstream_delay(address, SLOW_LINK);
    let url = proxy.base_url().replace("http://", "redis://");
    let mut builder = ClusterBuilder::new(&redis.url(), 2)
        .authenticated()
        .node_redis_url(B, &url);
    for (name, value) in env {
        builder = builder.env(name, value);
    }
    (builder.start(), proxy)
}

const A: usize = 0;
const B: usize = 1;
const ROUNDS: usize = 40;

fn connect(cluster: &ClusterSandbox, node: usize, hub: &str, user: &str) -> JsClient {
    let options = JsOptions::new(
        &cluster.client_url(node, hub),
        cluster.client_token(hub, user),
        &["msg"],
    );
    JsClient::connect(&options)
}

#[test]
fn a_join_answered_on_any_node_is_live_for_the_very_next_send() {
    let redis = RedisServer::start();
    let (cluster, _proxy) = slow_cluster(&redis, &[]);
    let hub = unique("joins");
    let user = unique("member");
    let mut client = connect(&cluster, B, &hub, &user);
    let id = client.connection_id().to_owned();

    for round in 0..ROUNDS {
        // The join goes through either node (A forwards a connection join to B, B applies it
        // itself); the send goes through the other one half the time.
        let (join_on, send_on) = [(A, A), (A, B), (B, A), (B, B)][round % 4];
        for (kind, group) in [
            ("connection", format!("g{round}")),
            ("user", format!("u{round}")),
        ] {
            let joined = if kind == "connection" {
                cluster
                    .rest(join_on)
                    .group_connection("PUT", &hub, &group, &id)
            } else {
                cluster.rest(join_on).group_user("PUT", &hub, &group, &user)
            };
            joined.assert_status(202);
            cluster
                .rest(send_on)
                .send_to_group(&hub, &group, "msg", &json!([kind, round]))
                .assert_status(202);
            client.expect_message("msg", &json!([kind, round]));
        }
    }
    assert!(
        client.driver().next_event(MESSAGE_TIMEOUT / 10).is_none(),
        "no message beyond the ones sent"
    );
    cluster.assert_no_panic();
}

#[test]
fn a_completed_handshake_is_live_for_the_very_next_send() {
    let redis = RedisServer::start();
    let (cluster, _proxy) = slow_cluster(&redis, &[]);
    let hub = unique("handshakes");
    for round in 0..20 {
        let user = unique("fresh");
        // A persistent membership set before the user has any connection.
        let group = format!("before{round}");
        cluster
            .rest(A)
            .group_user("PUT", &hub, &group, &user)
            .assert_status(202);
        let mut client = connect(&cluster, B, &hub, &user);
        cluster
            .rest(A)
            .send_to_user(&hub, &user, "msg", &json!(["user", round]))
            .assert_status(202);
        client.expect_message("msg", &json!(["user", round]));
        cluster
            .rest(A)
            .send_to_group(&hub, &group, "msg", &json!(["group", round]))
            .assert_status(202);
        client.expect_message("msg", &json!(["group", round]));
        cluster
            .rest(A)
            .broadcast(&hub, "msg", &json!(["all", round]))
            .assert_status(202);
        client.expect_message("msg", &json!(["all", round]));
        client.stop();
    }
    cluster.assert_no_panic();
}

#[test]
fn a_join_redis_cannot_confirm_answers_504_and_succeeds_once_it_is_back() {
    let redis = RedisServer::start();
    let (cluster, _proxy) = slow_cluster(&redis, &[("HERALD_CLUSTER_REQUEST_TIMEOUT", "1s")]);
    let hub = unique("unconfirmed");
    let user = unique("member");
    let mut client = connect(&cluster, B, &hub, &user);
    let id = client.connection_id().to_owned();
    let pid = redis.pid().expect("redis-server runs");

    signal(pid, "STOP");
    let local = cluster
        .rest(B)
        .group_connection("PUT", &hub, "g-local", &id);
    let remote = cluster
        .rest(A)
        .group_connection("PUT", &hub, "g-remote", &id);
    let user_join = cluster.rest(A).group_user("PUT", &hub, "g-user", &user);
    signal(pid, "CONT");
    local.assert_error(504);
    assert!(
        local.body.contains("cluster.request_timeout"),
        "the error names the setting: {}",
        local.body
    );
    remote.assert_error(504);
    // Redis stopped before the store write: that answers 503 (the state is unavailable).
    assert!(
        [503, 504].contains(&user_join.status),
        "a user join while Redis is stopped: {user_join:?}"
    );

    // Once Redis answers again, the same joins succeed and are live.
    for group in ["g-local", "g-remote"] {
        let rest = cluster.rest(if group == "g-local" { B } else { A });
        rest.group_connection("PUT", &hub, group, &id)
            .assert_status(202);
        cluster
            .rest(A)
            .send_to_group(&hub, group, "msg", &json!([group]))
            .assert_status(202);
        client.expect_message("msg", &json!([group]));
    }
    cluster.assert_no_panic();
}
