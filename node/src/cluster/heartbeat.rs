//! Keeps this node's registry record alive in Redis, and removes what dead nodes left behind.

use std::time::Duration;

use herald_proto::backplane::NodeRecord;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::store::Store;

/// How many heartbeats pass between sweeps for dead nodes.
const SWEEP_EVERY: u32 = 5;

/// Starts the heartbeat on the current runtime; abort the handle to stop it. The record says
/// `draining` while `draining` holds true, rewritten at once when it changes, so coordinators
/// move the leases of a draining node without waiting for a beat.
pub fn spawn(
    store: Store,
    record: NodeRecord,
    mut draining: watch::Receiver<bool>,
    interval: Duration,
    ttl: Duration,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(interval);
        let mut beats = 0u32;
        let mut failing = false;
        let mut draining_open = true;
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                changed = draining.changed(), if draining_open => {
                    if changed.is_err() {
                        draining_open = false;
                        continue;
                    }
                }
            }
            let record = NodeRecord {
                draining: *draining.borrow_and_update(),
                ..record.clone()
            };
            match store.heartbeat(&record, ttl).await {
                Ok(()) if failing => {
                    tracing::info!("node heartbeat restored");
                    failing = false;
                }
                Ok(()) => {}
                Err(error) => {
                    if !failing {
                        tracing::warn!(%error, "node heartbeat failed; other nodes will consider this node gone after cluster.node_ttl");
                    }
                    failing = true;
                }
            }
            beats = beats.wrapping_add(1);
            if beats.is_multiple_of(SWEEP_EVERY) {
                sweep(&store).await;
            }
        }
    })
}

/// Forgets nodes whose record expired (their mirror entries are stale).
async fn sweep(store: &Store) {
    let dead = match store.nodes().await {
        Ok((_, dead)) => dead,
        Err(error) => return tracing::debug!(%error, "could not list nodes"),
    };
    for node in dead {
        match store.forget_node(&node).await {
            Ok(()) => tracing::info!(%node, "removed the state of a node whose heartbeat expired"),
            Err(error) => {
                tracing::warn!(%node, %error, "could not remove the state of a dead node")
            }
        }
    }
}
