//! [`EmbeddedCoordinator`]: the coordinator of one process — standalone mode and in-process
//! tests. The same balancer as the cluster's coordinator, over a [`MemoryLeaseTable`]; the
//! members are the nodes that joined it. There is no election (one process, one coordinator)
//! and no fencing token (its writes are the only assignments).
//!
//! It rebalances when a node joins, drains or leaves, and on a short timer (leases appear when
//! nodes list their sources' partitions, or when a partition splits). Every change of
//! assignments bumps a watch cell, so runners re-read the table at once.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use actix::{Actor, Addr, AsyncContext, Context, Handler, Message};
use tokio::sync::watch;

use crate::balancer::{LeaseState, LiveNode, plan};
use crate::memory_leases::MemoryLeaseTable;

/// How often leases are rebalanced without a membership change.
pub const EMBEDDED_TICK: Duration = Duration::from_millis(250);

/// A change of membership.
#[derive(Debug, Message)]
#[rtype(result = "()")]
enum Membership {
    /// The node takes leases.
    Join(String),
    /// The node keeps running but hands its leases over.
    Drain(String),
    /// The node is gone.
    Leave(String),
}

/// The coordinator actor.
pub struct EmbeddedCoordinator {
    table: Arc<MemoryLeaseTable>,
    /// Node id → draining.
    nodes: BTreeMap<String, bool>,
    announce: watch::Sender<u64>,
    tick: Duration,
}

impl EmbeddedCoordinator {
    /// Starts a coordinator over `table` on the current actix arbiter, rebalancing every
    /// `tick`.
    pub fn spawn(table: Arc<MemoryLeaseTable>, tick: Duration) -> EmbeddedHandle {
        let (announce, announcements) = watch::channel(0);
        let addr = Self {
            table: table.clone(),
            nodes: BTreeMap::new(),
            announce,
            tick,
        }
        .start();
        EmbeddedHandle {
            addr,
            table,
            announcements,
        }
    }

    fn rebalance(&mut self) {
        let records = self.table.all();
        let states: Vec<LeaseState> = records
            .iter()
            .map(|r| LeaseState::new(r.id.as_str(), r.owner.as_deref(), r.epoch))
            .collect();
        let nodes: Vec<LiveNode> = self
            .nodes
            .iter()
            .map(|(id, draining)| LiveNode {
                id: id.clone(),
                draining: *draining,
            })
            .collect();
        let moves = plan(&states, &nodes);
        let mut moved = 0;
        for m in &moves {
            let expected = m.epoch().saturating_sub(1);
            if self
                .table
                .assign(m.lease().as_str(), m.new_owner(), expected, m.epoch())
            {
                moved += 1;
            }
        }
        if moved > 0 {
            tracing::info!(
                moved,
                leases = records.len(),
                nodes = nodes.len(),
                "reassigned leases"
            );
            self.announce.send_modify(|generation| *generation += 1);
        }
    }
}

impl Actor for EmbeddedCoordinator {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        ctx.run_interval(self.tick, |this, _| this.rebalance());
    }
}

impl Handler<Membership> for EmbeddedCoordinator {
    type Result = ();

    fn handle(&mut self, change: Membership, _: &mut Self::Context) {
        match change {
            Membership::Join(node) => {
                self.nodes.insert(node, false);
            }
            Membership::Drain(node) => {
                self.nodes.insert(node, true);
            }
            Membership::Leave(node) => {
                self.nodes.remove(&node);
            }
        }
        self.rebalance();
    }
}

/// Talks to a running [`EmbeddedCoordinator`]; cheap to clone.
#[derive(Clone)]
pub struct EmbeddedHandle {
    addr: Addr<EmbeddedCoordinator>,
    table: Arc<MemoryLeaseTable>,
    announcements: watch::Receiver<u64>,
}

impl EmbeddedHandle {
    /// The lease table the coordinator assigns.
    pub fn table(&self) -> Arc<MemoryLeaseTable> {
        self.table.clone()
    }

    /// A watch cell bumped on every change of assignments.
    pub fn announcements(&self) -> watch::Receiver<u64> {
        self.announcements.clone()
    }

    /// Adds `node` to the members; it gets its share of leases at once.
    pub async fn join(&self, node: &str) {
        let _ = self.addr.send(Membership::Join(node.to_owned())).await;
    }

    /// Marks `node` draining: its leases move to the other members (or to nobody).
    pub async fn drain(&self, node: &str) {
        let _ = self.addr.send(Membership::Drain(node.to_owned())).await;
    }

    /// Removes `node` from the members.
    pub async fn leave(&self, node: &str) {
        let _ = self.addr.send(Membership::Leave(node.to_owned())).await;
    }
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use super::*;

    fn owners(table: &MemoryLeaseTable) -> BTreeMap<String, usize> {
        let mut counts = BTreeMap::new();
        for lease in table.all() {
            *counts
                .entry(lease.owner.unwrap_or_else(|| "-".to_owned()))
                .or_default() += 1;
        }
        counts
    }

    async fn until(what: &str, mut check: impl FnMut() -> bool) {
        let deadline = Instant::now() + Duration::from_secs(5);
        while !check() {
            assert!(Instant::now() < deadline, "timed out waiting for {what}");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    #[actix::test]
    async fn spreads_leases_over_members_and_moves_them_off_draining_ones() {
        let table = Arc::new(MemoryLeaseTable::new());
        let handle = EmbeddedCoordinator::spawn(table.clone(), Duration::from_millis(20));
        let mut announcements = handle.announcements();
        table.ensure(&(0..4).map(|p| format!("f/{p}")).collect::<Vec<_>>());
        for node in ["a", "b", "c"] {
            handle.join(node).await;
        }
        until("4 leases over 3 nodes", || {
            let counts = owners(&table);
            !counts.contains_key("-") && counts.len() == 3
        })
        .await;
        assert!(announcements.has_changed().unwrap_or(false));
        announcements.mark_unchanged();
        handle.drain("a").await;
        let counts = owners(&table);
        assert_eq!(counts.get("a"), None, "{counts:?}");
        assert_eq!(counts.values().sum::<usize>(), 4);
        assert!(announcements.has_changed().unwrap_or(false));
        handle.leave("b").await;
        handle.leave("c").await;
        handle.leave("a").await;
        assert_eq!(owners(&table).get("-"), Some(&4), "no members, no owners");
    }

    #[actix::test]
    async fn leases_created_later_are_assigned_by_the_timer() {
        let table = Arc::new(MemoryLeaseTable::new());
        let handle = EmbeddedCoordinator::spawn(table.clone(), Duration::from_millis(20));
        handle.join("a").await;
        table.ensure(&["f/x".to_owned()]);
        until("the new lease is owned", || {
            table.all().iter().all(|l| l.owner.as_deref() == Some("a"))
        })
        .await;
    }
}
