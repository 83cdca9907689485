//! Several coordinators at once: one leader, takeover after a stop or a crash, and the
//! published assignment summary.

use std::time::Instant;

use futures_util::StreamExt;

use super::*;

#[actix::test]
async fn two_coordinators_elect_one_leader_and_survive_its_stop() {
    let server = RedisServer::start().await;
    let mut conn = server.connect().await;
    for id in ["n1", "n2", "n3"] {
        register(&mut conn, id, false).await;
    }
    let a = spawn(&server, "a").await;
    let b = spawn(&server, "b").await;
    let deadline = Instant::now() + DEADLINE;
    let (leader, follower) = loop {
        let (sa, sb) = (a.status().await.expect("a"), b.status().await.expect("b"));
        assert!(
            !(sa.is_leader && sb.is_leader),
            "two leaders: {sa:?} {sb:?}"
        );
        if sa.is_leader && balanced_over(&sa.leases, &["n1", "n2", "n3"]) {
            break (a, b);
        }
        if sb.is_leader && balanced_over(&sb.leases, &["n1", "n2", "n3"]) {
            break (b, a);
        }
        assert!(
            Instant::now() < deadline,
            "no balanced leader: {sa:?} {sb:?}"
        );
        tokio::time::sleep(POLL).await;
    };
    let old_token = leader.status().await.expect("leader").token.expect("token");
    let follower_status = follower.status().await.expect("follower");
    assert!(!follower_status.is_leader && follower_status.token.is_none());

    leader.stop().await.expect("stop");
    assert!(
        leader.status().await.is_err(),
        "a stopped coordinator answers no more"
    );
    let stopped = Instant::now();
    let status = wait_status(&follower, "a takeover", |s| s.is_leader).await;
    assert!(
        stopped.elapsed() < TTL + 10 * TICK,
        "took {:?}",
        stopped.elapsed()
    );
    assert!(
        status.token.expect("token") > old_token,
        "a new leadership, a higher token"
    );

    // The new leader keeps balancing.
    kill_node(&mut conn, "n1").await;
    wait_balanced(&follower, &["n2", "n3"]).await;
    follower.stop().await.expect("stop");
}

/// A leader that dies without resigning (its arbiter stops) is replaced after its TTL.
#[actix::test]
async fn a_crashed_leader_is_replaced_after_its_ttl() {
    let server = RedisServer::start().await;
    let mut conn = server.connect().await;
    for id in ["n1", "n2", "n3"] {
        register(&mut conn, id, false).await;
    }
    let arbiter = actix::Arbiter::new();
    let doomed = Coordinator::spawn_in(&arbiter.handle(), server.connect().await, settings("a"))
        .expect("valid settings");
    wait_balanced(&doomed, &["n1", "n2", "n3"]).await;
    let survivor = spawn(&server, "b").await;
    wait_status(&survivor, "a follower's first tick", |s| {
        s.leases.len() == 4
    })
    .await;
    assert!(arbiter.stop(), "the arbiter was running");
    let crashed = Instant::now();
    wait_status(&survivor, "a takeover", |s| s.is_leader).await;
    assert!(
        crashed.elapsed() < TTL + 10 * TICK,
        "took {:?}",
        crashed.elapsed()
    );
    register(&mut conn, "n4", false).await;
    wait_balanced(&survivor, &["n1", "n2", "n3", "n4"]).await;
    survivor.stop().await.expect("stop");
}

#[actix::test]
async fn publishes_a_summary_when_leases_move() {
    let server = RedisServer::start().await;
    let mut conn = server.connect().await;
    let (_, port): (String, u16) = redis::cmd("CONFIG")
        .arg("GET")
        .arg("port")
        .query_async(&mut conn)
        .await
        .expect("config get port");
    let client = redis::Client::open(format!("redis://127.0.0.1:{port}")).expect("client");
    let mut pubsub = client.get_async_pubsub().await.expect("pubsub");
    pubsub
        .subscribe(crate::coordinator::assignments_channel(PREFIX))
        .await
        .expect("subscribe");
    for id in ["n1", "n2"] {
        register(&mut conn, id, false).await;
    }
    let coordinator = spawn(&server, "c1").await;
    let message = tokio::time::timeout(DEADLINE, pubsub.on_message().next())
        .await
        .expect("a summary within the deadline")
        .expect("the subscription is open");
    let summary: serde_json::Value =
        serde_json::from_str(&message.get_payload::<String>().expect("text")).expect("json");
    let status = wait_balanced(&coordinator, &["n1", "n2"]).await;
    assert_eq!(summary["moved"], 4);
    assert_eq!(summary["leases"].as_array().map(Vec::len), Some(4));
    assert_eq!(summary["leases"][0]["epoch"], 1);
    assert_eq!(
        summary["leases"][0]["owner"],
        status[0].owner.as_deref().unwrap_or_default()
    );
    coordinator.stop().await.expect("stop");
}
