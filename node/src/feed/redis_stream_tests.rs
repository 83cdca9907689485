//! The `redis-stream` source against a real `redis-server`.

use std::time::{Duration, SystemTime};

use serde_json::json;

use super::RedisStreamSource;
use super::redis_fixture::RedisServer;
use super::source::{Batch, ChangeSource, SourceError};
use crate::backplane::redis::CommandConnection;
use crate::config::StartFrom;

const NO_WAIT: Duration = Duration::ZERO;

pub(super) async fn setup(partitions: u32) -> (RedisServer, CommandConnection, RedisStreamSource) {
    let server = RedisServer::start();
    let conn = server.connect().await;
    let source = RedisStreamSource::new(server.connect().await, "t", "stocks", partitions);
    (server, conn, source)
}

/// `XADD key id doc json` (id `*` for a server-chosen one); the entry's id.
pub(super) async fn add(conn: &CommandConnection, key: &str, id: &str, doc: &str) -> String {
    let mut conn = conn.clone();
    redis::cmd("XADD")
        .arg(key)
        .arg(id)
        .arg("doc")
        .arg(doc)
        .query_async(&mut conn)
        .await
        .expect("XADD")
}

pub(super) fn positions(batch: &Batch) -> Vec<&str> {
    batch.changes.iter().map(|c| c.position.as_str()).collect()
}

#[tokio::test]
async fn reads_from_the_beginning_and_resumes_after_a_checkpoint() {
    let (_server, conn, source) = setup(2).await;
    assert_eq!(source.partitions().await.unwrap(), ["0", "1"]);
    assert_eq!(source.key(1), "t:feed:stocks:1");
    for (id, n) in [("1-0", 1), ("2-0", 2), ("3-0", 3)] {
        add(
            &conn,
            "t:feed:stocks:1",
            id,
            &format!("{{\"id\":\"d{n}\",\"n\":{n}}}"),
        )
        .await;
    }
    add(&conn, "t:feed:stocks:0", "9-0", "{}").await;
    let batch = source
        .read("1", None, &StartFrom::Beginning, 2, NO_WAIT)
        .await
        .unwrap();
    assert_eq!(positions(&batch), ["1-0", "2-0"], "max bounds the batch");
    assert_eq!(batch.changes[0].document, Ok(json!({"id": "d1", "n": 1})));
    assert_eq!(batch.next_checkpoint.as_deref(), Some("2-0"));
    let batch = source
        .read("1", Some("2-0"), &StartFrom::Beginning, 10, NO_WAIT)
        .await
        .unwrap();
    assert_eq!(positions(&batch), ["3-0"]);
    assert_eq!(batch.changes[0].document, Ok(json!({"id": "d3", "n": 3})));
    let batch = source
        .read("1", Some("3-0"), &StartFrom::Beginning, 10, NO_WAIT)
        .await
        .unwrap();
    assert_eq!(batch, Batch::default(), "nothing new, checkpoint kept");
    // The checkpoint wins over start_from.
    let batch = source
        .read("1", Some("1-0"), &StartFrom::Now, 10, NO_WAIT)
        .await
        .unwrap();
    assert_eq!(positions(&batch), ["2-0", "3-0"]);
}

#[tokio::test]
async fn now_skips_old_entries_and_pins_its_start() {
    let (_server, conn, source) = setup(1).await;
    let key = source.key(0);
    let empty = source
        .read("0", None, &StartFrom::Now, 10, NO_WAIT)
        .await
        .unwrap();
    assert_eq!(
        empty.next_checkpoint.as_deref(),
        Some("0-0"),
        "empty stream"
    );
    add(&conn, &key, "5-0", "{\"old\":1}").await;
    add(&conn, &key, "6-0", "{\"old\":2}").await;
    let batch = source
        .read("0", None, &StartFrom::Now, 10, NO_WAIT)
        .await
        .unwrap();
    assert!(batch.changes.is_empty());
    let start = batch.next_checkpoint.expect("the resolved start");
    assert_eq!(start, "6-0");
    // Written after the start was resolved: read from the pinned start, not a new "now".
    add(&conn, &key, "7-0", "{\"new\":1}").await;
    let batch = source
        .read("0", Some(&start), &StartFrom::Now, 10, NO_WAIT)
        .await
        .unwrap();
    assert_eq!(positions(&batch), ["7-0"]);
    assert_eq!(batch.changes[0].document, Ok(json!({"new": 1})));
}

#[tokio::test]
async fn a_time_starts_at_its_millisecond() {
    let (_server, conn, source) = setup(1).await;
    let key = source.key(0);
    for id in ["1000-0", "1999-5", "2000-0", "2000-1", "3000-0"] {
        add(&conn, &key, id, "{}").await;
    }
    let at = |ms| StartFrom::Time(SystemTime::UNIX_EPOCH + Duration::from_millis(ms));
    let batch = source
        .read("0", None, &at(2000), 10, NO_WAIT)
        .await
        .unwrap();
    assert_eq!(positions(&batch), ["2000-0", "2000-1", "3000-0"]);
    let batch = source.read("0", None, &at(0), 10, NO_WAIT).await.unwrap();
    assert_eq!(batch.changes.len(), 5);
    let batch = source
        .read("0", None, &at(4000), 10, NO_WAIT)
        .await
        .unwrap();
    assert!(batch.changes.is_empty());
    assert_eq!(
        batch.next_checkpoint.as_deref(),
        Some("3999-18446744073709551615")
    );
    add(&conn, &key, "4000-0", "{}").await;
    let checkpoint = batch.next_checkpoint.unwrap();
    let batch = source
        .read("0", Some(&checkpoint), &at(4000), 10, NO_WAIT)
        .await
        .unwrap();
    assert_eq!(positions(&batch), ["4000-0"]);
}

#[tokio::test]
async fn bad_documents_become_err_changes_without_stopping_the_batch() {
    let (_server, conn, source) = setup(1).await;
    let key = source.key(0);
    add(&conn, &key, "1-0", "{\"ok\":1}").await;
    add(&conn, &key, "2-0", "not json").await;
    let mut raw = conn.clone();
    let _: String = redis::cmd("XADD")
        .arg(&key)
        .arg("3-0")
        .arg("payload")
        .arg("{}")
        .query_async(&mut raw)
        .await
        .unwrap();
    let _: String = redis::cmd("XADD")
        .arg(&key)
        .arg("4-0")
        .arg("doc")
        .arg(&[0xffu8, 0xfe][..])
        .query_async(&mut raw)
        .await
        .unwrap();
    add(&conn, &key, "5-0", "42").await;
    add(&conn, &key, "6-0", "{\"ok\":2}").await;
    let batch = source
        .read("0", None, &StartFrom::Beginning, 10, NO_WAIT)
        .await
        .unwrap();
    assert_eq!(
        positions(&batch),
        ["1-0", "2-0", "3-0", "4-0", "5-0", "6-0"]
    );
    let docs: Vec<_> = batch.changes.iter().map(|c| c.document.clone()).collect();
    assert_eq!(docs[0], Ok(json!({"ok": 1})));
    assert!(
        docs[1].as_ref().unwrap_err().contains("not JSON"),
        "{docs:?}"
    );
    assert!(
        docs[2].as_ref().unwrap_err().contains("no field doc"),
        "{docs:?}"
    );
    assert!(
        docs[3].as_ref().unwrap_err().contains("not JSON"),
        "{docs:?}"
    );
    assert_eq!(
        docs[4],
        Ok(json!(42)),
        "JSON, if not an object: routing refuses it"
    );
    assert_eq!(docs[5], Ok(json!({"ok": 2})));
    assert_eq!(batch.next_checkpoint.as_deref(), Some("6-0"));
}

#[tokio::test]
async fn lag_counts_entries_after_the_checkpoint() {
    let (_server, conn, source) = setup(1).await;
    let key = source.key(0);
    assert_eq!(source.lag("0", None).await.unwrap(), 0, "no stream yet");
    assert_eq!(source.lag("0", Some("0-0")).await.unwrap(), 0);
    for n in 1..=1203 {
        add(&conn, &key, &format!("{n}-0"), "{}").await;
    }
    assert_eq!(source.lag("0", None).await.unwrap(), 1203);
    assert_eq!(
        source.lag("0", Some("0-0")).await.unwrap(),
        1203,
        "pages of 500"
    );
    assert_eq!(source.lag("0", Some("1000-0")).await.unwrap(), 203);
    assert_eq!(source.lag("0", Some("1000-5")).await.unwrap(), 203);
    assert_eq!(source.lag("0", Some("1203-0")).await.unwrap(), 0);
    assert_eq!(source.lag("0", Some("9999-0")).await.unwrap(), 0);
}

#[tokio::test]
async fn bad_partitions_and_checkpoints_are_refused() {
    let (_server, _conn, source) = setup(2).await;
    let err = source
        .read("2", None, &StartFrom::Now, 1, NO_WAIT)
        .await
        .unwrap_err();
    assert!(matches!(
        err,
        SourceError::NoPartition {
            ref partition,
            partitions: 2,
            ..
        } if partition == "2"
    ));
    for bad in ["x", "01", "-1", ""] {
        assert!(matches!(
            source.read(bad, None, &StartFrom::Now, 1, NO_WAIT).await,
            Err(SourceError::NoPartition { .. })
        ));
    }
    assert!(err.to_string().contains("source.partitions"), "{err}");
    assert!(matches!(
        source.lag("7", None).await,
        Err(SourceError::NoPartition { .. })
    ));
    for bad in ["$", "+", "abc", "1-x", ""] {
        let err = source
            .read("0", Some(bad), &StartFrom::Now, 1, NO_WAIT)
            .await
            .unwrap_err();
        assert!(
            matches!(err, SourceError::BadCheckpoint { .. }),
            "{bad}: {err}"
        );
        assert!(matches!(
            source.lag("0", Some(bad)).await,
            Err(SourceError::BadCheckpoint { .. })
        ));
    }
}

#[tokio::test]
async fn an_unreachable_or_wrong_key_is_an_error_not_a_panic() {
    let (_server, conn, source) = setup(1).await;
    let mut raw = conn.clone();
    let _: () = redis::cmd("SET")
        .arg(source.key(0))
        .arg("x")
        .query_async(&mut raw)
        .await
        .unwrap();
    let err = source
        .read("0", None, &StartFrom::Beginning, 1, NO_WAIT)
        .await
        .unwrap_err();
    assert!(matches!(err, SourceError::Unavailable { .. }), "{err}");
    assert!(matches!(
        source.lag("0", None).await,
        Err(SourceError::Unavailable { .. })
    ));
}
