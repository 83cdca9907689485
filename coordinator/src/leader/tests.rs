//! The leader election against a real `redis-server`.

use std::time::{Duration, Instant};

use redis::aio::ConnectionManager;

use super::{LeaderElection, LeaderState};
use crate::lease_store::test_redis::RedisServer;
use crate::lease_store::{LeaseError, LeaseStore};

/// Upper bound of every wait in these tests.
const DEADLINE: Duration = Duration::from_secs(10);
const TTL: Duration = Duration::from_millis(300);

async fn candidate(server: &RedisServer, id: &str) -> LeaderElection<ConnectionManager> {
    LeaderElection::new(server.connect().await, "herald", id, TTL).expect("valid settings")
}

async fn tick(election: &mut LeaderElection<ConnectionManager>) -> LeaderState {
    election.tick().await.expect("tick")
}

/// Ticks `election` until it leads (or the deadline passes) and returns its token.
async fn tick_until_leader(election: &mut LeaderElection<ConnectionManager>) -> u64 {
    let deadline = Instant::now() + DEADLINE;
    loop {
        if let LeaderState::Leader { token, since_tick } = tick(election).await {
            assert!(since_tick, "a takeover is a new leadership");
            return token;
        }
        assert!(
            Instant::now() < deadline,
            "{} never became leader",
            election.candidate_id()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn exactly_one_of_two_candidates_leads() {
    let server = RedisServer::start().await;
    let mut a = candidate(&server, "a").await;
    let mut b = candidate(&server, "b").await;
    let (sa, sb) = tokio::join!(a.tick(), b.tick());
    let (leader_id, token) = match (sa.expect("tick a"), sb.expect("tick b")) {
        (
            LeaderState::Leader {
                token,
                since_tick: true,
            },
            LeaderState::Follower { leader },
        ) => {
            assert_eq!(leader, Some(("a".to_owned(), token)));
            ("a", token)
        }
        (
            LeaderState::Follower { leader },
            LeaderState::Leader {
                token,
                since_tick: true,
            },
        ) => {
            assert_eq!(leader, Some(("b".to_owned(), token)));
            ("b", token)
        }
        other => panic!("not exactly one new leader: {other:?}"),
    };
    assert_eq!(
        a.current().await.expect("current"),
        Some((leader_id.to_owned(), token))
    );
}

#[tokio::test]
async fn ticking_keeps_leadership_past_the_ttl() {
    let server = RedisServer::start().await;
    let mut a = candidate(&server, "a").await;
    let mut b = candidate(&server, "b").await;
    let token = tick_until_leader(&mut a).await;
    // Ten ticks a third of the TTL apart span three TTLs.
    for _ in 0..10 {
        tokio::time::sleep(TTL / 3).await;
        assert_eq!(
            tick(&mut a).await,
            LeaderState::Leader {
                token,
                since_tick: false
            }
        );
        assert!(matches!(tick(&mut b).await, LeaderState::Follower { .. }));
    }
}

#[tokio::test]
async fn follower_takes_over_when_the_leader_stops_and_fences_it() {
    let server = RedisServer::start().await;
    let store = LeaseStore::new(server.connect().await, "herald");
    store
        .ensure(&["orders/0".to_owned()])
        .await
        .expect("ensure");
    let mut a = candidate(&server, "a").await;
    let mut b = candidate(&server, "b").await;
    let old = tick_until_leader(&mut a).await;
    assert!(matches!(tick(&mut b).await, LeaderState::Follower { .. }));
    assert!(
        store
            .assign("orders/0", Some("n1"), 0, 1, old)
            .await
            .expect("leader assigns")
    );

    // `a` stops ticking (paused, say); `b` takes over once the key expires.
    let new = tick_until_leader(&mut b).await;
    assert!(new > old, "fencing tokens grow: {new} > {old}");

    let stale = store.assign("orders/0", Some("n2"), 1, 2, old).await;
    assert!(
        matches!(stale, Err(LeaseError::Fenced { token }) if token == old),
        "{stale:?}"
    );
    assert!(
        store
            .assign("orders/0", Some("n3"), 1, 2, new)
            .await
            .expect("new leader assigns")
    );
    let lease = store.get("orders/0").await.expect("get").expect("exists");
    assert_eq!((lease.owner.as_deref(), lease.epoch), (Some("n3"), 2));

    // The old leader learns it was deposed on its next tick.
    assert_eq!(
        tick(&mut a).await,
        LeaderState::Follower {
            leader: Some(("b".to_owned(), new))
        }
    );
}

#[tokio::test]
async fn resign_hands_over_at_once() {
    let server = RedisServer::start().await;
    let mut a = LeaderElection::new(
        server.connect().await,
        "herald",
        "a",
        Duration::from_secs(60),
    )
    .expect("valid settings");
    let mut b = LeaderElection::new(
        server.connect().await,
        "herald",
        "b",
        Duration::from_secs(60),
    )
    .expect("valid settings");
    let old = tick_until_leader(&mut a).await;
    assert!(matches!(tick(&mut b).await, LeaderState::Follower { .. }));
    b.resign().await.expect("a follower's resign is a no-op");
    assert_eq!(
        b.current().await.expect("current"),
        Some(("a".to_owned(), old))
    );

    a.resign().await.expect("resign");
    assert_eq!(a.current().await.expect("current"), None);
    let LeaderState::Leader {
        token,
        since_tick: true,
    } = tick(&mut b).await
    else {
        panic!("b leads right after a resigned, without waiting for the ttl");
    };
    assert!(token > old);
}

#[tokio::test]
async fn a_restarted_candidate_resumes_its_leadership() {
    let server = RedisServer::start().await;
    let mut first = candidate(&server, "10.0.0.1:7000").await;
    let token = tick_until_leader(&mut first).await;
    let mut again = candidate(&server, "10.0.0.1:7000").await;
    assert_eq!(
        tick(&mut again).await,
        LeaderState::Leader {
            token,
            since_tick: true
        }
    );
}

#[tokio::test]
async fn settings_are_checked() {
    let server = RedisServer::start().await;
    let conn = server.connect().await;
    assert!(LeaderElection::new(conn.clone(), "herald", "", TTL).is_err());
    assert!(LeaderElection::new(conn, "herald", "a", Duration::from_micros(10)).is_err());
}

#[tokio::test]
async fn read_leader_names_the_leader_its_token_and_since_when() {
    let server = RedisServer::start().await;
    let mut reader = server.connect().await;
    assert_eq!(
        super::read_leader(&mut reader, "herald")
            .await
            .expect("read"),
        None
    );
    let before_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64;
    let mut a = LeaderElection::new(
        server.connect().await,
        "herald",
        "a",
        Duration::from_secs(60),
    )
    .expect("valid settings");
    let token = tick_until_leader(&mut a).await;
    let info = super::read_leader(&mut reader, "herald")
        .await
        .expect("read")
        .expect("a leads");
    assert_eq!(info.leader, "a");
    assert_eq!(info.token, token);
    let since = info.since_ms.expect("the start is recorded on acquire");
    // Redis and this process share the machine's clock.
    assert!(since + 1000 >= before_ms, "{since} vs {before_ms}");
    // Refreshing keeps the start.
    tick(&mut a).await;
    let again = super::read_leader(&mut reader, "herald")
        .await
        .expect("read")
        .expect("a leads");
    assert_eq!(again.since_ms, Some(since));
}
