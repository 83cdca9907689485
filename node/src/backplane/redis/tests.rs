//! The backplane against a real `redis-server`: two backplanes on one Redis play two nodes.
//!
//! A user `alice` lets a test hold one node off Redis while the other is connected (its
//! password is refused while the user is off), which makes outage tests deterministic:
//! the subscriber is back and subscribed before the publisher can flush.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use tokio::sync::mpsc;

use super::fixture::RedisServer;
use super::{
    BackplaneCounters, CommandConnection, RedisBackplane, RedisSettings, command_connection,
};
use crate::backplane::{Backplane, INCOMING_QUEUE_CAPACITY, Incoming};

/// Upper bound of every wait in these tests.
const DEADLINE: Duration = Duration::from_secs(10);
/// `redis-server` arguments adding user `alice` (password `pw`), enabled or not.
const ALICE_ON: &[&str] = &["--user", "alice", "on", ">pw", "~*", "&*", "+@all"];
const ALICE_OFF: &[&str] = &["--user", "alice", "off", ">pw", "~*", "&*", "+@all"];

pub(super) fn node(
    url: &str,
    outage_buffer: usize,
) -> (Arc<RedisBackplane>, mpsc::Receiver<Incoming>) {
    node_counting(url, outage_buffer, BackplaneCounters::noop())
}

pub(super) fn node_counting(
    url: &str,
    outage_buffer: usize,
    counters: BackplaneCounters,
) -> (Arc<RedisBackplane>, mpsc::Receiver<Incoming>) {
    let (tx, rx) = mpsc::channel(INCOMING_QUEUE_CAPACITY);
    let settings = RedisSettings {
        target: url.parse().expect("a valid url"),
        security: Default::default(),
        outage_buffer,
        connect_timeout: Duration::from_secs(2),
    };
    (
        RedisBackplane::start(settings, tx, counters).expect("starts"),
        rx,
    )
}

pub(super) async fn wait_link(backplane: &RedisBackplane, up: bool) {
    let mut state = backplane.state();
    let reached = tokio::time::timeout(DEADLINE, state.wait_for(|s| s.is_up() == up)).await;
    assert!(
        matches!(reached, Ok(Ok(_))),
        "link did not become {} in time",
        if up { "up" } else { "down" }
    );
}

pub(super) async fn recv(rx: &mut mpsc::Receiver<Incoming>) -> (String, String) {
    match tokio::time::timeout(DEADLINE, rx.recv()).await {
        Ok(Some(m)) => (m.channel, String::from_utf8_lossy(&m.payload).into_owned()),
        other => panic!("no message in time: {other:?}"),
    }
}

async fn commands(server: &RedisServer) -> CommandConnection {
    let target = server.url(None).parse().expect("a valid url");
    command_connection(&target, &Default::default(), Duration::from_secs(2))
        .await
        .expect("command connection")
}

/// Polls `PUBSUB NUMSUB channel` until it is `count` (errors while reconnecting are retried).
async fn wait_subscribers(conn: &mut CommandConnection, channel: &str, count: i64) {
    let deadline = Instant::now() + DEADLINE;
    loop {
        let reply: redis::RedisResult<(String, i64)> = redis::cmd("PUBSUB")
            .arg("NUMSUB")
            .arg(channel)
            .query_async(conn)
            .await;
        if matches!(reply, Ok((_, n)) if n == count) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{channel} never had {count} subscribers (last: {reply:?})"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn text(s: impl Into<String>) -> Bytes {
    Bytes::from(s.into())
}

#[tokio::test]
async fn a_publish_reaches_the_other_node() {
    let server = RedisServer::start(&[]).await;
    let (a, _) = node(&server.url(None), 1 << 20);
    let (b, mut b_rx) = node(&server.url(None), 1 << 20);
    let mut conn = commands(&server).await;
    b.subscribe("h.all");
    b.subscribe("h.all");
    wait_subscribers(&mut conn, "h.all", 1).await;
    wait_link(&a, true).await;
    a.publish("h.all", text("hello"));
    assert_eq!(recv(&mut b_rx).await, ("h.all".into(), "hello".into()));
    let got: String = redis::cmd("PING").query_async(&mut conn).await.unwrap();
    assert_eq!(got, "PONG", "command connections run ordinary commands");
}

#[tokio::test]
async fn a_thousand_publishes_arrive_in_order_and_shutdown_flushes_them() {
    let server = RedisServer::start(&[]).await;
    let (a, _) = node(&server.url(None), 1 << 20);
    let (b, mut b_rx) = node(&server.url(None), 1 << 20);
    let mut conn = commands(&server).await;
    b.subscribe("ordered");
    wait_subscribers(&mut conn, "ordered", 1).await;
    for n in 0..1000 {
        a.publish("ordered", text(n.to_string()));
    }
    // Shutdown right away: whatever is still queued must be flushed before it returns.
    a.shutdown().await;
    for n in 0..1000 {
        assert_eq!(recv(&mut b_rx).await.1, n.to_string());
    }
    assert_eq!(a.dropped(), 0);
    assert!(
        !a.state().borrow().is_up(),
        "a closed backplane reports down"
    );
}

#[tokio::test]
async fn publishes_during_an_outage_arrive_in_order_after_a_restart() {
    let mut server = RedisServer::start(ALICE_ON).await;
    let (a, _) = node(&server.url(Some(("alice", "pw"))), 1 << 20);
    let (b, mut b_rx) = node(&server.url(None), 1 << 20);
    b.subscribe("outage");
    let mut conn = commands(&server).await;
    wait_subscribers(&mut conn, "outage", 1).await;
    wait_link(&a, true).await;

    server.kill();
    wait_link(&a, false).await;
    wait_link(&b, false).await;
    for n in 0..100 {
        a.publish("outage", text(n.to_string()));
    }
    assert!(a.buffered_bytes() > 0, "publishes are buffered while down");

    // Alice (node A) stays locked out until node B has resubscribed.
    server.restart(ALICE_OFF).await;
    wait_link(&b, true).await;
    wait_subscribers(&mut conn, "outage", 1).await;
    assert!(!a.state().borrow().is_up(), "a is still refused");
    let _: () = redis::cmd("ACL")
        .arg("SETUSER")
        .arg("alice")
        .arg("on")
        .query_async(&mut conn)
        .await
        .unwrap();
    wait_link(&a, true).await;
    for n in 0..100 {
        assert_eq!(recv(&mut b_rx).await, ("outage".into(), n.to_string()));
    }
    assert_eq!(a.dropped(), 0);
}

#[tokio::test]
async fn the_outage_buffer_drops_the_oldest_and_counts_them() {
    let server = RedisServer::start(ALICE_OFF).await;
    // Each publish costs channel + payload + 64 bytes: 2 + 3 + 64 = 69; ten fit.
    let (a, _) = node(&server.url(Some(("alice", "pw"))), 690);
    let (b, mut b_rx) = node(&server.url(None), 1 << 20);
    b.subscribe("ch");
    let mut conn = commands(&server).await;
    wait_subscribers(&mut conn, "ch", 1).await;
    for n in 0..100 {
        a.publish("ch", text(format!("{n:03}")));
    }
    assert_eq!(a.dropped(), 90);
    assert_eq!(a.buffered_bytes(), 690);
    let _: () = redis::cmd("ACL")
        .arg("SETUSER")
        .arg("alice")
        .arg("on")
        .query_async(&mut conn)
        .await
        .unwrap();
    wait_link(&a, true).await;
    for n in 90..100 {
        assert_eq!(recv(&mut b_rx).await.1, format!("{n:03}"));
    }
    a.publish("ch", text("end"));
    assert_eq!(recv(&mut b_rx).await.1, "end", "nothing else was kept");
}

#[tokio::test]
async fn unsubscribe_stops_delivery() {
    let server = RedisServer::start(&[]).await;
    let (a, _) = node(&server.url(None), 1 << 20);
    let (b, mut b_rx) = node(&server.url(None), 1 << 20);
    let mut conn = commands(&server).await;
    b.subscribe("gone");
    b.subscribe("kept");
    wait_subscribers(&mut conn, "gone", 1).await;
    wait_subscribers(&mut conn, "kept", 1).await;
    a.publish("gone", text("before"));
    assert_eq!(recv(&mut b_rx).await, ("gone".into(), "before".into()));
    b.unsubscribe("gone");
    wait_subscribers(&mut conn, "gone", 0).await;
    a.publish("gone", text("after"));
    a.publish("kept", text("marker"));
    assert_eq!(
        recv(&mut b_rx).await,
        ("kept".into(), "marker".into()),
        "nothing arrives on an unsubscribed channel"
    );
}
