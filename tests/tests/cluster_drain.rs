//! Draining a node: 100 official JS clients (WebSockets, automatic reconnect) reach a
//! three-node cluster through a round-robin balancer that follows readiness. SIGTERM on `n3`
//! closes its clients with a reconnectable close; every one of them reconnects to `n1` or `n2`
//! without a close error, `n3` exits 0 within its grace period, and broadcasts sent afterwards
//! reach all 100.

use herald_tests::metrics::gauge_sum;
use herald_tests::wait::deadline_in;
use herald_tests::{
    ClusterBuilder, FleetOptions, JsFleet, RedisServer, RoundRobinProxy, Transport, unique,
    wait_until,
};
use serde_json::json;
use std::collections::BTreeSet;
use std::time::{Duration, Instant};

const CLIENTS: usize = 100;
/// Broadcasts after the drain (one more was sent before it).
const AFTER: u64 = 4;
const GRACE: Duration = Duration::from_secs(10);
const DRAINED: usize = 2;

#[test]
fn sigterm_moves_every_client_to_the_remaining_nodes() {
    let redis = RedisServer::start();
    let mut cluster = ClusterBuilder::new(&redis.url(), 3)
        .env("HERALD_SHUTDOWN_GRACE_PERIOD", "10s")
        .start();
    let proxy = RoundRobinProxy::for_cluster(&cluster);
    let hub = unique("drain");
    let options = FleetOptions {
        automatic_reconnect: true,
        // Each WebSocket is one request: whichever node the balancer picks owns it.
        skip_negotiation: true,
    };
    let mut fleet = JsFleet::connect_with(
        &proxy.client_url(&hub),
        None,
        &[(Transport::WebSockets, CLIENTS)],
        "num",
        usize::try_from(AFTER + 1).expect("small"),
        Duration::from_secs(40),
        options,
    );
    // Without negotiation the clients do not learn their ids: the nodes' gauges tell where
    // they are.
    let per_node = |node: usize| {
        gauge_sum(
            &cluster.node(node).admin_get("/metrics").1,
            "herald_connections",
        )
    };
    let all_counted = wait_until(deadline_in(10), || {
        (0..3).map(per_node).sum::<f64>() == CLIENTS as f64
    });
    let counts: Vec<f64> = (0..3).map(per_node).collect();
    assert!(all_counted, "connections per node: {counts:?}");
    assert!(
        counts.iter().all(|n| *n > 0.0),
        "the balancer left a node without clients: {counts:?}"
    );
    let on_drained = counts[DRAINED] as usize;

    let rest = cluster.rest(0);
    rest.broadcast(&hub, "num", &json!([0])).assert_status(202);
    let everyone_has_zero = wait_until(deadline_in(10), || {
        fleet.numbers().iter().all(|numbers| numbers == &[0])
    });
    assert!(
        everyone_has_zero,
        "the first broadcast did not reach every client exactly once"
    );

    let terminated = Instant::now();
    cluster.node(DRAINED).sigterm();
    let reconnected = fleet.wait_reconnected(on_drained, Duration::from_secs(30));
    let reconnect_took = terminated.elapsed();
    let status = cluster
        .node_mut(DRAINED)
        .wait_exit(GRACE + Duration::from_secs(5));
    let exit_took = terminated.elapsed();
    let status = status.unwrap_or_else(|| panic!("n3 still runs {exit_took:?} after SIGTERM"));
    assert_eq!(status.code(), Some(0), "n3 exit status after SIGTERM");
    assert!(exit_took <= GRACE, "n3 exited after {exit_took:?}");
    eprintln!(
        "drain: {} clients on n3 reconnected within {reconnect_took:?}; n3 exited after {exit_took:?}",
        on_drained
    );

    // Only the drained node's clients reconnected, and no close carried an error.
    let reconnecting = fleet.events_of("reconnecting");
    let indices: BTreeSet<usize> = reconnecting
        .iter()
        .map(|e| usize::try_from(e["index"].as_u64().expect("an index")).expect("small"))
        .collect();
    let reconnected: BTreeSet<usize> = reconnected.keys().copied().collect();
    assert_eq!(
        indices, reconnected,
        "connections that reconnected (n3 had {on_drained})"
    );
    // Each was ended by the server's Close message (the client reports a Close carrying an
    // `error` text as "Server returned an error on close: ..."), never by a broken transport.
    let abrupt: Vec<_> = reconnecting
        .iter()
        .filter(|e| {
            e["error"]
                .as_str()
                .is_some_and(|text| !text.starts_with("Server returned an error on close: "))
        })
        .collect();
    assert!(
        abrupt.is_empty(),
        "not ended by a Close message: {abrupt:?}"
    );
    if let Some(reason) = reconnecting.first() {
        eprintln!("drain: reconnecting reason: {}", reason["error"]);
    }
    // No connection closed for good, with or without an error.
    let closed = fleet.events_of("closed");
    assert!(closed.is_empty(), "connections closed: {closed:?}");

    let remaining = || -> f64 {
        [0, 1]
            .iter()
            .map(|node| {
                gauge_sum(
                    &cluster.node(*node).admin_get("/metrics").1,
                    "herald_connections",
                )
            })
            .sum()
    };
    let all_moved = wait_until(deadline_in(10), || remaining() == CLIENTS as f64);
    assert!(
        all_moved,
        "n1 and n2 count {} connections after the drain",
        remaining()
    );
    for n in 1..=AFTER {
        rest.broadcast(&hub, "num", &json!([n])).assert_status(202);
    }
    let expected: Vec<u64> = (0..=AFTER).collect();
    for (index, (_, numbers)) in fleet
        .wait_complete(Duration::from_secs(20))
        .iter()
        .enumerate()
    {
        assert_eq!(numbers, &expected, "client #{index}");
    }
    fleet.stop(Duration::from_secs(20));
    cluster.node(0).assert_no_panic();
    cluster.node(1).assert_no_panic();
    cluster.node(DRAINED).assert_no_panic();
}
