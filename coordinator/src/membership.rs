//! Membership: which nodes are alive right now, read from the node registry in Redis.
//!
//! Nodes register themselves (see [`herald_proto::backplane::Keys`]): a JSON
//! [`NodeRecord`] under `<prefix>:node:<id>` with a TTL they keep refreshing, and their id in
//! the set `<prefix>:nodes`. A node is live iff it is in the set *and* its record still exists,
//! so a node that died stops counting once its TTL runs out, without anyone cleaning up.
//!
//! This module only reads: pruning stale set members is left to whoever owns the registry, so
//! a coordinator with a partial view can never remove a node that is merely slow.

use herald_proto::backplane::{Keys, NodeRecord};
use redis::aio::ConnectionLike;

pub use crate::balancer::LiveNode;

/// A membership read failure; the text says what the caller should do.
#[derive(Debug, thiserror::Error)]
pub enum MembershipError {
    /// Redis could not be reached or refused the command.
    #[error("membership redis command failed ({0}); check the redis connection and retry")]
    Redis(#[from] redis::RedisError),
}

/// The live nodes under `prefix`, sorted by id.
///
/// A member whose record is missing (expired) is dead and left out. A record that is not a
/// [`NodeRecord`] is left out too (and logged), because a node we cannot read should not be
/// handed work. [`NodeRecord::draining`] marks a node that is alive but shutting down: it must
/// give its leases away.
pub async fn live_nodes<C: ConnectionLike + Send>(
    conn: &mut C,
    prefix: &str,
) -> Result<Vec<LiveNode>, MembershipError> {
    let keys = Keys::new(prefix);
    let mut ids: Vec<String> = redis::cmd("SMEMBERS")
        .arg(keys.nodes())
        .query_async(conn)
        .await?;
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    ids.sort();
    // One GET per node, not a pipeline: node keys are spread over a Redis Cluster's slots,
    // and a cluster connection refuses a pipeline that crosses slots.
    let mut records: Vec<Option<String>> = Vec::with_capacity(ids.len());
    for id in &ids {
        records.push(
            redis::cmd("GET")
                .arg(keys.node(id))
                .query_async(conn)
                .await?,
        );
    }
    Ok(ids
        .into_iter()
        .zip(records)
        .filter_map(|(id, record)| parse(id, record?.as_str()))
        .collect())
}

/// One registry record as a [`LiveNode`], or `None` (logged) when it cannot be read.
fn parse(id: String, json: &str) -> Option<LiveNode> {
    match NodeRecord::from_json(json) {
        Ok(record) => Some(LiveNode {
            id,
            draining: record.draining,
        }),
        Err(error) => {
            tracing::warn!(node = %id, %error, "skipping unreadable node record");
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lease_store::test_redis::RedisServer;

    fn record(id: &str) -> String {
        NodeRecord {
            id: id.to_owned(),
            url: format!("http://{id}:8080"),
            admin_url: format!("http://{id}:9090"),
            started_at_ms: 1,
            version: "0.1.0".to_owned(),
            draining: false,
        }
        .to_json()
    }

    #[test]
    fn draining_is_an_optional_extra_field() {
        let plain = record("n1");
        assert_eq!(parse("n1".into(), &plain), Some(LiveNode::serving("n1")));
        let draining = plain.replacen('{', r#"{"draining":true,"#, 1);
        assert_eq!(
            parse("n1".into(), &draining),
            Some(LiveNode::draining("n1"))
        );
        let not_bool = plain.replacen('{', r#"{"draining":"yes","#, 1);
        assert_eq!(
            parse("n1".into(), &not_bool),
            None,
            "an unreadable record is skipped"
        );
        assert_eq!(parse("n1".into(), "not json"), None);
        assert_eq!(parse("n1".into(), r#"{"id":"n1"}"#), None);
    }

    #[tokio::test]
    async fn lists_members_with_a_record() {
        let server = RedisServer::start().await;
        let mut conn = server.connect().await;
        assert!(
            live_nodes(&mut conn, "herald")
                .await
                .expect("empty")
                .is_empty()
        );
        let _: () = redis::cmd("SADD")
            .arg("herald:nodes")
            .arg(&["n3", "n1", "gone", "bad", "n2"][..])
            .query_async(&mut conn)
            .await
            .expect("sadd");
        let draining = record("n2").replacen('{', r#"{"draining":true,"#, 1);
        let _: () = redis::cmd("MSET")
            .arg("herald:node:n1")
            .arg(record("n1"))
            .arg("herald:node:n2")
            .arg(&draining)
            .arg("herald:node:n3")
            .arg(record("n3"))
            .arg("herald:node:bad")
            .arg("{")
            .arg("other:node:gone")
            .arg(record("gone"))
            .query_async(&mut conn)
            .await
            .expect("mset");
        let nodes = live_nodes(&mut conn, "herald").await.expect("live nodes");
        assert_eq!(
            nodes,
            [
                LiveNode::serving("n1"),
                LiveNode::draining("n2"),
                LiveNode::serving("n3")
            ]
        );
    }
}
