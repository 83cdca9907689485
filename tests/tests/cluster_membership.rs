//! Persistent user-group membership across nodes: a user added to a group through node A
//! (`n1`) is a member with every connection it has on nodes B and C, including one opened after
//! the membership was set; removed through A, none of them is.

use herald_tests::js_client::MESSAGE_TIMEOUT;
use herald_tests::wait::deadline_in;
use herald_tests::{ClusterBuilder, ClusterSandbox, JsClient, JsOptions, RedisServer, unique};
use herald_tests::{Rest, wait_until};
use serde_json::{Value, json};

const A: usize = 0;
const B: usize = 1;
const C: usize = 2;

fn connect(cluster: &ClusterSandbox, node: usize, hub: &str, user: &str) -> JsClient {
    let options = JsOptions::new(
        &cluster.client_url(node, hub),
        cluster.client_token(hub, user),
        &["msg"],
    );
    let client = JsClient::connect(&options);
    let suffix = format!(".{}", ClusterSandbox::node_id(node));
    assert!(client.connection_id().ends_with(&suffix));
    client
}

/// Polls `HEAD /groups/<group>/users/<user>` on `rest` until it answers `status`.
fn assert_user_in_group(rest: &Rest, hub: &str, group: &str, user: &str, status: u16) {
    let suffix = format!("/groups/{group}/users/{user}");
    let mut last = 0;
    let reached = wait_until(deadline_in(10), || {
        last = rest.head(hub, &suffix).status;
        last == status
    });
    assert!(reached, "HEAD {suffix} answered {last}, expected {status}");
}

/// The first arguments of every `msg` message up to and including `last`.
fn tags_until(client: &mut JsClient, last: &str) -> Vec<Value> {
    let mut tags = Vec::new();
    while tags.last() != Some(&json!(last)) {
        let message = client.driver().wait_for_event("message", MESSAGE_TIMEOUT);
        assert_eq!(message["target"], "msg", "unexpected message {message}");
        tags.push(message["arguments"][0].clone());
    }
    tags
}

#[test]
fn user_group_membership_applies_on_every_node_now_and_later() {
    let redis = RedisServer::start();
    let cluster = ClusterBuilder::new(&redis.url(), 3).authenticated().start();
    let hub = unique("member");
    let group = unique("grp");
    let user = unique("u");
    let other = unique("v");
    let mut on_b = connect(&cluster, B, &hub, &user);
    let mut on_c = connect(&cluster, C, &hub, &user);
    let mut outsider = connect(&cluster, C, &hub, &other);
    let (rest_a, rest_c) = (cluster.rest(A), cluster.rest(C));

    rest_a
        .group_user("PUT", &hub, &group, &user)
        .assert_status(202);
    assert_user_in_group(&rest_c, &hub, &group, &user, 200);
    assert_user_in_group(&rest_c, &hub, &group, &other, 404);
    let send = |tag: &str| {
        rest_a
            .send_to_group(&hub, &group, "msg", &json!([tag]))
            .assert_status(202);
    };
    let mark = |tag: &str| {
        rest_a
            .broadcast(&hub, "msg", &json!([tag]))
            .assert_status(202)
    };

    send("g1");
    mark("m1");
    for client in [&mut on_b, &mut on_c] {
        assert_eq!(tags_until(client, "m1"), vec![json!("g1"), json!("m1")]);
    }

    // A connection the user opens later, on C, is a member from the start.
    let mut later = connect(&cluster, C, &hub, &user);
    send("g2");
    mark("m2");
    for client in [&mut on_b, &mut on_c, &mut later] {
        assert_eq!(tags_until(client, "m2"), vec![json!("g2"), json!("m2")]);
    }

    rest_a
        .group_user("DELETE", &hub, &group, &user)
        .assert_status(202);
    assert_user_in_group(&rest_c, &hub, &group, &user, 404);
    send("g3");
    mark("m3");
    for client in [&mut on_b, &mut on_c, &mut later] {
        assert_eq!(tags_until(client, "m3"), vec![json!("m3")]);
    }
    // The other user only ever got the broadcasts.
    assert_eq!(
        tags_until(&mut outsider, "m3"),
        vec![json!("m1"), json!("m2"), json!("m3")]
    );

    // Removed for good: a new connection of the user is not a member either.
    let mut after = connect(&cluster, B, &hub, &user);
    send("g4");
    mark("m4");
    for client in [&mut on_b, &mut on_c, &mut later, &mut after] {
        assert_eq!(tags_until(client, "m4"), vec![json!("m4")]);
    }
    cluster.assert_no_panic();
}
