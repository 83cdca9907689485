//! The lease store against a real `redis-server`.

use std::time::Duration;

use redis::aio::ConnectionManager;

use super::test_redis::{RedisCluster, RedisServer};
use super::{LeaseError, LeaseRecord, LeaseStore};
use crate::leader::{LeaderElection, LeaderState};

/// A store plus a leader token valid on `server`.
async fn setup(server: &RedisServer) -> (LeaseStore<ConnectionManager>, u64) {
    let store = LeaseStore::new(server.connect().await, "herald");
    let mut election = LeaderElection::new(
        server.connect().await,
        "herald",
        "c1",
        Duration::from_secs(30),
    )
    .expect("valid settings");
    let Ok(LeaderState::Leader { token, .. }) = election.tick().await else {
        panic!("the only candidate leads");
    };
    store
        .ensure(&["orders/0".to_owned(), "orders/1".to_owned()])
        .await
        .expect("ensure");
    (store, token)
}

async fn lease(store: &LeaseStore<ConnectionManager>, id: &str) -> LeaseRecord {
    store.get(id).await.expect("get").expect("lease exists")
}

#[tokio::test]
async fn ensure_creates_unowned_leases_and_is_idempotent() {
    let server = RedisServer::start().await;
    let (store, token) = setup(&server).await;
    let fresh = lease(&store, "orders/0").await;
    assert_eq!(
        (
            fresh.owner.as_deref(),
            fresh.epoch,
            fresh.checkpoint.as_deref()
        ),
        (None, 0, None)
    );
    assert!(fresh.updated_at_ms > 0, "stamped with redis time");

    assert!(
        store
            .assign("orders/0", Some("n1"), 0, 1, token)
            .await
            .expect("assign")
    );
    assert!(
        store
            .checkpoint("orders/0", "n1", 1, "17")
            .await
            .expect("checkpoint")
    );
    let ids = [
        "orders/0".to_owned(),
        "orders/1".to_owned(),
        "orders/2".to_owned(),
    ];
    store.ensure(&ids).await.expect("ensure again");
    store.ensure(&ids).await.expect("and again");

    let all = store.all().await.expect("all");
    let ids_found: Vec<&str> = all.iter().map(|l| l.id.as_str()).collect();
    assert_eq!(ids_found, ["orders/0", "orders/1", "orders/2"]);
    assert_eq!(
        all[0].owner.as_deref(),
        Some("n1"),
        "ensure left the assignment alone"
    );
    assert_eq!(all[0].epoch, 1);
    assert_eq!(all[0].checkpoint.as_deref(), Some("17"));
    assert_eq!(store.get("orders/9").await.expect("get"), None);
}

#[tokio::test]
async fn assign_applies_only_with_the_expected_epoch() {
    let server = RedisServer::start().await;
    let (store, token) = setup(&server).await;
    assert!(
        !store
            .assign("orders/0", Some("n1"), 3, 4, token)
            .await
            .expect("assign")
    );
    assert_eq!(
        lease(&store, "orders/0").await.epoch,
        0,
        "wrong epoch changed nothing"
    );

    assert!(
        store
            .assign("orders/0", Some("n1"), 0, 1, token)
            .await
            .expect("assign")
    );
    assert!(
        !store
            .assign("orders/0", Some("n2"), 0, 1, token)
            .await
            .expect("assign")
    );
    let after = lease(&store, "orders/0").await;
    assert_eq!((after.owner.as_deref(), after.epoch), (Some("n1"), 1));

    assert!(
        store
            .assign("orders/0", None, 1, 2, token)
            .await
            .expect("unassign")
    );
    let after = lease(&store, "orders/0").await;
    assert_eq!((after.owner, after.epoch), (None, 2));
}

#[tokio::test]
async fn assign_rejects_bad_requests() {
    let server = RedisServer::start().await;
    let (store, token) = setup(&server).await;
    let unknown = store.assign("nope/0", Some("n1"), 0, 1, token).await;
    assert!(
        matches!(unknown, Err(LeaseError::UnknownLease { .. })),
        "{unknown:?}"
    );
    let backwards = store.assign("orders/0", Some("n1"), 1, 1, token).await;
    assert!(
        matches!(backwards, Err(LeaseError::EpochNotIncreasing { .. })),
        "{backwards:?}"
    );
    let not_leader = store.assign("orders/0", Some("n1"), 0, 1, token + 1).await;
    assert!(
        matches!(not_leader, Err(LeaseError::Fenced { .. })),
        "{not_leader:?}"
    );
    assert_eq!(lease(&store, "orders/0").await.epoch, 0);
}

#[tokio::test]
async fn checkpoint_is_fenced_by_owner_and_epoch() {
    let server = RedisServer::start().await;
    let (store, token) = setup(&server).await;
    assert!(
        store
            .assign("orders/0", Some("n1"), 0, 1, token)
            .await
            .expect("assign")
    );
    assert!(
        store
            .checkpoint("orders/0", "n1", 1, "10")
            .await
            .expect("checkpoint")
    );
    assert!(
        !store
            .checkpoint("orders/0", "n2", 1, "11")
            .await
            .expect("not the owner")
    );
    assert!(
        !store
            .checkpoint("orders/1", "n1", 0, "12")
            .await
            .expect("unowned lease")
    );
    assert!(
        !store
            .checkpoint("nope/0", "n1", 1, "13")
            .await
            .expect("missing lease")
    );

    // Reassigned to n2: n1 still believes it holds epoch 1.
    assert!(
        store
            .assign("orders/0", Some("n2"), 1, 2, token)
            .await
            .expect("reassign")
    );
    assert!(
        !store
            .checkpoint("orders/0", "n1", 1, "99")
            .await
            .expect("stale owner")
    );
    assert_eq!(
        lease(&store, "orders/0").await.checkpoint.as_deref(),
        Some("10")
    );
    assert!(
        store
            .checkpoint("orders/0", "n2", 2, "20")
            .await
            .expect("new owner")
    );
    let after = lease(&store, "orders/0").await;
    assert_eq!(
        (
            after.owner.as_deref(),
            after.epoch,
            after.checkpoint.as_deref()
        ),
        (Some("n2"), 2, Some("20"))
    );
}

#[tokio::test]
async fn concurrent_assigns_for_one_epoch_apply_once() {
    let server = RedisServer::start().await;
    let (store, token) = setup(&server).await;
    for round in 0..20u64 {
        let a = LeaseStore::new(server.connect().await, "herald");
        let b = LeaseStore::new(server.connect().await, "herald");
        let (ra, rb) = tokio::join!(
            a.assign("orders/1", Some("na"), round, round + 1, token),
            b.assign("orders/1", Some("nb"), round, round + 1, token),
        );
        let applied = [ra.expect("assign a"), rb.expect("assign b")];
        assert_eq!(
            applied.iter().filter(|x| **x).count(),
            1,
            "round {round}: {applied:?}"
        );
        let winner = if applied[0] { "na" } else { "nb" };
        let after = lease(&store, "orders/1").await;
        assert_eq!(
            (after.owner.as_deref(), after.epoch),
            (Some(winner), round + 1)
        );
    }
}

#[tokio::test]
async fn prefixes_are_separate() {
    let server = RedisServer::start().await;
    let (store, _token) = setup(&server).await;
    let other = LeaseStore::new(server.connect().await, "other");
    assert!(other.all().await.expect("all").is_empty());
    assert_eq!(store.all().await.expect("all").len(), 2);
}

/// All keys share the `{prefix}` hash tag, so the fencing script (lease + leader key) and the
/// election script (leader + token counter) run on Redis Cluster without CROSSSLOT errors.
#[tokio::test]
async fn works_on_redis_cluster() {
    let cluster = RedisCluster::start().await;
    let store = LeaseStore::new(cluster.connect().await, "herald");
    let mut election = LeaderElection::new(
        cluster.connect().await,
        "herald",
        "c1",
        Duration::from_secs(30),
    )
    .expect("valid settings");
    let Ok(LeaderState::Leader { token, .. }) = election.tick().await else {
        panic!("the only candidate leads");
    };
    let ids: Vec<String> = (0..8).map(|p| format!("orders/{p}")).collect();
    store.ensure(&ids).await.expect("ensure");
    assert!(
        store
            .assign("orders/5", Some("n1"), 0, 1, token)
            .await
            .expect("assign")
    );
    assert!(
        store
            .checkpoint("orders/5", "n1", 1, "7")
            .await
            .expect("checkpoint")
    );
    let all = store.all().await.expect("all");
    assert_eq!(all.len(), 8);
    assert_eq!(all[5].checkpoint.as_deref(), Some("7"));
    election.resign().await.expect("resign");
    let fenced = store.assign("orders/5", None, 1, 2, token).await;
    assert!(
        matches!(fenced, Err(LeaseError::Fenced { .. })),
        "{fenced:?}"
    );
}

#[tokio::test]
async fn replacement_is_fenced_and_hands_the_checkpoint_over() {
    let server = RedisServer::start().await;
    let (store, token) = setup(&server).await;
    assert!(
        store
            .assign("orders/0", Some("n1"), 0, 1, token)
            .await
            .expect("assign")
    );
    assert!(
        store
            .checkpoint("orders/0", "n1", 1, "c9")
            .await
            .expect("checkpoint")
    );
    let successors = vec!["orders/0a".to_owned(), "orders/0b".to_owned()];
    assert!(
        !store
            .replace("orders/0", "n2", 1, &successors)
            .await
            .expect("not the owner"),
        "only the owner may replace its lease"
    );
    assert!(
        !store
            .replace("orders/0", "n1", 0, &successors)
            .await
            .expect("stale epoch"),
        "a stale epoch is refused"
    );
    assert!(
        store
            .replace("orders/0", "n1", 1, &successors)
            .await
            .expect("replace")
    );
    assert!(store.get("orders/0").await.expect("get").is_none());
    let all = store.all().await.expect("all");
    let ids: Vec<&str> = all.iter().map(|l| l.id.as_str()).collect();
    assert!(!ids.contains(&"orders/0"), "{ids:?}");
    for id in ["orders/0a", "orders/0b"] {
        let lease = all.iter().find(|l| l.id == id).expect("successor exists");
        assert_eq!(lease.checkpoint.as_deref(), Some("c9"));
        assert_eq!((lease.owner.as_deref(), lease.epoch), (None, 0));
    }
}
