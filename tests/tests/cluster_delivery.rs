//! Delivery across a three-node authenticated cluster: REST calls made on node A (`n1`) reach
//! exactly the right official JS clients on nodes B (`n2`) and C (`n3`) — broadcast, user,
//! group (membership set through another node than the member's), connection, and `excluded`
//! — with exact argument values over every transport and both protocols; `HEAD` checks on A
//! see remote connections, users and groups; and Redis gets exactly one publish per message.

use herald_tests::js_client::{CONNECT_TIMEOUT, MESSAGE_TIMEOUT};
use herald_tests::redis_server::command_calls;
use herald_tests::wait::deadline_in;
use herald_tests::{
    Auth, ClusterBuilder, ClusterSandbox, JsClient, JsOptions, Protocol, RedisServer, Rest,
    Transport, unique, wait_until,
};
use serde_json::{Value, json};

const A: usize = 0;
const B: usize = 1;
const C: usize = 2;
/// A connection id of node `n2`'s shape that no client holds.
const MISSING_ON_B: &str = "AAAAAAAAAAAAAAAAAAAAAA.n2";

/// One test client: a name for messages, its user and the connected JS client.
struct Peer {
    name: &'static str,
    user: String,
    client: JsClient,
}

fn connect(
    cluster: &ClusterSandbox,
    node: usize,
    hub: &str,
    name: &'static str,
    transport: Transport,
    protocol: Protocol,
) -> Peer {
    let user = unique(name);
    let options = JsOptions::new(
        &cluster.client_url(node, hub),
        cluster.client_token(hub, &user),
        &["msg"],
    )
    .transport(transport)
    .protocol(protocol);
    let client = JsClient::connect(&options);
    let suffix = format!(".{}", ClusterSandbox::node_id(node));
    assert!(
        client.connection_id().ends_with(&suffix),
        "{name}: connection id {} does not end with {suffix}",
        client.connection_id()
    );
    Peer { name, user, client }
}

/// Polls `HEAD <suffix>` on `rest` until it answers `status`.
fn assert_head_eventually(rest: &Rest, hub: &str, suffix: &str, status: u16) {
    let mut last = 0;
    let reached = wait_until(deadline_in(10), || {
        last = rest.head(hub, suffix).status;
        last == status
    });
    assert!(reached, "HEAD {suffix} answered {last}, expected {status}");
}

/// Publishes Redis counted since the last `CONFIG RESETSTAT` (plain and sharded).
fn publishes(redis: &RedisServer) -> (u64, u64) {
    let info = redis.cli(&["INFO", "commandstats"]);
    (
        command_calls(&info, "publish"),
        command_calls(&info, "spublish"),
    )
}

#[test]
fn rest_calls_on_one_node_reach_exactly_the_right_clients_on_the_others() {
    let redis = RedisServer::start();
    // Frequent heartbeats: if they published, the exact publish count below would show it.
    let cluster = ClusterBuilder::new(&redis.url(), 3)
        .authenticated()
        .env("HERALD_CLUSTER_HEARTBEAT_INTERVAL", "200ms")
        .start();
    let hub = unique("cdeliver");
    let group = unique("grp");
    let mut peers = [
        connect(
            &cluster,
            B,
            &hub,
            "bjson",
            Transport::WebSockets,
            Protocol::Json,
        ),
        connect(
            &cluster,
            B,
            &hub,
            "bpack",
            Transport::WebSockets,
            Protocol::MessagePack,
        ),
        connect(
            &cluster,
            C,
            &hub,
            "csse",
            Transport::ServerSentEvents,
            Protocol::Json,
        ),
        connect(
            &cluster,
            C,
            &hub,
            "clp",
            Transport::LongPolling,
            Protocol::Json,
        ),
        connect(
            &cluster,
            A,
            &hub,
            "alocal",
            Transport::WebSockets,
            Protocol::Json,
        ),
    ];
    assert_eq!(
        peers[2].client.transport_class(),
        Some("ServerSentEventsTransport")
    );
    assert_eq!(
        peers[3].client.transport_class(),
        Some("LongPollingTransport")
    );
    let ids: Vec<String> = peers
        .iter()
        .map(|p| p.client.connection_id().to_owned())
        .collect();
    let (rest_a, rest_b, rest_c) = (cluster.rest(A), cluster.rest(B), cluster.rest(C));

    // Group membership through a node that does not own the connection.
    rest_c
        .group_connection("PUT", &hub, &group, &ids[0])
        .assert_status(202);
    rest_a
        .group_connection("PUT", &hub, &group, &ids[2])
        .assert_status(202);
    rest_c
        .group_connection("PUT", &hub, &group, MISSING_ON_B)
        .assert_status(404);

    // Existence checks through A, for connections, users and groups on B and C.
    for (peer, id) in peers.iter().zip(&ids) {
        assert_head_eventually(&rest_a, &hub, &format!("/connections/{id}"), 200);
        assert_head_eventually(&rest_a, &hub, &format!("/users/{}", peer.user), 200);
    }
    assert_head_eventually(&rest_a, &hub, &format!("/groups/{group}"), 200);
    let unknown_user = unique("nobody");
    let unknown_group = unique("nogroup");
    for suffix in [
        format!("/connections/{MISSING_ON_B}"),
        format!("/users/{unknown_user}"),
        format!("/groups/{unknown_group}"),
    ] {
        assert_eq!(rest_a.head(&hub, &suffix).status, 404, "HEAD {suffix}");
    }

    // Counted window: every message below is one publish, except the local connection send.
    redis.reset_stats();
    let mut published = 0;
    let mut expected: Vec<Vec<Value>> = vec![Vec::new(); peers.len()];
    let mut expect = |to: &[usize], arguments: Value| {
        for index in to {
            expected[*index].push(arguments.clone());
        }
    };

    rest_a
        .broadcast(&hub, "msg", &json!(["all", 1]))
        .assert_status(202);
    expect(&[0, 1, 2, 3, 4], json!(["all", 1]));
    published += 1;

    let user_args = json!(["user", 2, {"nested": [true, null, "ü"]}]);
    rest_a
        .send_to_user(&hub, &peers[1].user, "msg", &user_args)
        .assert_status(202);
    expect(&[1], user_args);
    published += 1;
    rest_a
        .send_to_user(&hub, &peers[3].user, "msg", &json!(["user", 3]))
        .assert_status(202);
    expect(&[3], json!(["user", 3]));
    published += 1;

    rest_a
        .send_to_group(&hub, &group, "msg", &json!(["group", 4]))
        .assert_status(202);
    expect(&[0, 2], json!(["group", 4]));
    published += 1;

    for (index, id) in ids.iter().enumerate() {
        let arguments = json!(["connection", id]);
        rest_a
            .send_to_connection(&hub, id, "msg", &arguments)
            .assert_status(202);
        expect(&[index], arguments);
        // A connection on A itself is delivered locally, without Redis.
        if index != 4 {
            published += 1;
        }
    }

    let path = format!("/api/v1/hubs/{hub}?excluded={}&excluded={}", ids[0], ids[3]);
    rest_a
        .post_message(&path, "msg", &json!(["excluded", 5]))
        .assert_status(202);
    expect(&[1, 2, 4], json!(["excluded", 5]));
    published += 1;

    let path = format!("/api/v1/hubs/{hub}/groups/{group}?excluded={}", ids[2]);
    rest_a
        .post_message(&path, "msg", &json!(["group-excluded", 6]))
        .assert_status(202);
    expect(&[0], json!(["group-excluded", 6]));
    published += 1;

    rest_a
        .broadcast(&hub, "msg", &json!(["end", 7]))
        .assert_status(202);
    expect(&[0, 1, 2, 3, 4], json!(["end", 7]));
    published += 1;

    for (peer, expected) in peers.iter_mut().zip(&expected) {
        let received = receive_until_end(&mut peer.client, "end");
        assert_eq!(
            &received, expected,
            "{} received the wrong messages",
            peer.name
        );
    }
    let (plain, sharded) = publishes(&redis);
    assert_eq!(
        plain + sharded,
        published,
        "publishes in Redis (PUBLISH {plain}, SPUBLISH {sharded}) for {published} messages"
    );

    // Removal through a node that does not own the connection.
    rest_b
        .group_connection("DELETE", &hub, &group, &ids[2])
        .assert_status(202);
    rest_b
        .group_connection("DELETE", &hub, &group, MISSING_ON_B)
        .assert_status(404);
    rest_a
        .send_to_group(&hub, &group, "msg", &json!(["group", 8]))
        .assert_status(202);
    rest_a
        .broadcast(&hub, "msg", &json!(["end", 9]))
        .assert_status(202);
    peers[0].client.expect_message("msg", &json!(["group", 8]));
    peers[0].client.expect_message("msg", &json!(["end", 9]));
    peers[2].client.expect_message("msg", &json!(["end", 9]));

    // Auth still applies to forwarded membership commands.
    let unsigned = rest_c.request(
        "PUT",
        &format!("/api/v1/hubs/{hub}/groups/{group}/connections/{}", ids[0]),
        None,
        &Auth::None,
    );
    assert_eq!(unsigned.status, 401, "unsigned PUT: {}", unsigned.body);
    cluster.assert_no_panic();
}

/// The arguments of every `msg` message up to and including the first whose first argument is
/// `end_tag`.
fn receive_until_end(client: &mut JsClient, end_tag: &str) -> Vec<Value> {
    let mut received = Vec::new();
    loop {
        let message = client
            .driver()
            .wait_for_event("message", MESSAGE_TIMEOUT + CONNECT_TIMEOUT);
        assert_eq!(message["target"], "msg", "unexpected message {message}");
        let arguments = message["arguments"].clone();
        let done = arguments[0] == end_tag;
        received.push(arguments);
        if done {
            return received;
        }
    }
}
