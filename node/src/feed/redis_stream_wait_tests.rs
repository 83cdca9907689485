//! The `redis-stream` source's blocking reads, against a real `redis-server`: they wait up
//! to their limit, and no longer than it takes an entry to arrive.

use std::time::{Duration, Instant};

use super::redis_stream_tests::{add, positions, setup};
use super::source::{Batch, ChangeSource};
use crate::backplane::redis::CommandConnection;
use crate::config::StartFrom;

#[tokio::test]
async fn a_blocking_read_returns_within_its_wait() {
    let (_server, _conn, source) = setup(1).await;
    let started = Instant::now();
    let batch = source
        .read(
            "0",
            Some("0-0"),
            &StartFrom::Beginning,
            10,
            Duration::from_millis(200),
        )
        .await
        .unwrap();
    let took = started.elapsed();
    assert_eq!(batch, Batch::default());
    assert!(took >= Duration::from_millis(150), "it waited: {took:?}");
    assert!(
        took < Duration::from_millis(1500),
        "not much longer: {took:?}"
    );
}

#[tokio::test]
async fn a_blocked_read_wakes_up_for_a_new_entry() {
    let (_server, conn, source) = setup(1).await;
    let key = source.key(0);
    let reading = source.read(
        "0",
        Some("0-0"),
        &StartFrom::Beginning,
        10,
        Duration::from_millis(1500),
    );
    let adding = async {
        wait_blocked(&conn).await;
        add(&conn, &key, "1-0", "{\"late\":true}").await;
    };
    let started = Instant::now();
    let (batch, ()) = tokio::join!(reading, adding);
    assert_eq!(positions(&batch.unwrap()), ["1-0"]);
    assert!(
        started.elapsed() < Duration::from_millis(1400),
        "woken, not timed out"
    );
}

/// Returns once some client is blocked (in XREAD), asking the server each time.
async fn wait_blocked(conn: &CommandConnection) {
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut conn = conn.clone();
    loop {
        let info: String = redis::cmd("INFO")
            .arg("clients")
            .query_async(&mut conn)
            .await
            .unwrap();
        if info
            .lines()
            .any(|l| l.starts_with("blocked_clients:") && !l.ends_with(":0"))
        {
            return;
        }
        assert!(Instant::now() < deadline, "no client blocked: {info}");
        tokio::task::yield_now().await;
    }
}
