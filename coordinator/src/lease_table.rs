//! [`LeaseTable`]: what a node needs from the lease table, whichever store holds it — Redis
//! ([`LeaseStore`], a cluster) or memory ([`MemoryLeaseTable`], one process).
//!
//! Object-safe (futures are boxed) so feed readers hold an `Arc<dyn LeaseTable>` and do not
//! care where the table lives. Every write is a compare-and-set on the lease's owner and
//! epoch: a node that lost a lease learns it from a refused write and stops reading it.

use futures_util::FutureExt;
use futures_util::future::BoxFuture;
use redis::aio::ConnectionLike;

use crate::lease_store::{LeaseError, LeaseRecord, LeaseStore};
use crate::memory_leases::MemoryLeaseTable;

/// The lease table as seen by nodes.
pub trait LeaseTable: Send + Sync {
    /// Creates the leases that do not exist yet (unowned, epoch 0); idempotent, so every node
    /// may call it with the partitions its sources list.
    fn ensure<'a>(&'a self, ids: &'a [String]) -> BoxFuture<'a, Result<(), LeaseError>>;

    /// Every lease, sorted by id.
    fn all(&self) -> BoxFuture<'_, Result<Vec<LeaseRecord>, LeaseError>>;

    /// Records `checkpoint` for lease `id` iff it is still `node`'s under `epoch`;
    /// `Ok(false)`: the lease moved on, stop reading it.
    fn checkpoint<'a>(
        &'a self,
        id: &'a str,
        node: &'a str,
        epoch: u64,
        checkpoint: &'a str,
    ) -> BoxFuture<'a, Result<bool, LeaseError>>;

    /// Replaces lease `id` (a partition that split or merged) by `successors`, iff it is still
    /// `node`'s under `epoch`. Each successor that does not exist yet is created unowned, with
    /// the replaced lease's checkpoint, so reading continues where the old partition stopped;
    /// the replaced lease is removed. `Ok(false)`: the lease moved on, nothing changed.
    fn replace<'a>(
        &'a self,
        id: &'a str,
        node: &'a str,
        epoch: u64,
        successors: &'a [String],
    ) -> BoxFuture<'a, Result<bool, LeaseError>>;
}

impl<C> LeaseTable for LeaseStore<C>
where
    C: ConnectionLike + Clone + Send + Sync,
{
    fn ensure<'a>(&'a self, ids: &'a [String]) -> BoxFuture<'a, Result<(), LeaseError>> {
        LeaseStore::ensure(self, ids).boxed()
    }

    fn all(&self) -> BoxFuture<'_, Result<Vec<LeaseRecord>, LeaseError>> {
        LeaseStore::all(self).boxed()
    }

    fn checkpoint<'a>(
        &'a self,
        id: &'a str,
        node: &'a str,
        epoch: u64,
        checkpoint: &'a str,
    ) -> BoxFuture<'a, Result<bool, LeaseError>> {
        LeaseStore::checkpoint(self, id, node, epoch, checkpoint).boxed()
    }

    fn replace<'a>(
        &'a self,
        id: &'a str,
        node: &'a str,
        epoch: u64,
        successors: &'a [String],
    ) -> BoxFuture<'a, Result<bool, LeaseError>> {
        LeaseStore::replace(self, id, node, epoch, successors).boxed()
    }
}

impl LeaseTable for MemoryLeaseTable {
    fn ensure<'a>(&'a self, ids: &'a [String]) -> BoxFuture<'a, Result<(), LeaseError>> {
        MemoryLeaseTable::ensure(self, ids);
        futures_util::future::ready(Ok(())).boxed()
    }

    fn all(&self) -> BoxFuture<'_, Result<Vec<LeaseRecord>, LeaseError>> {
        futures_util::future::ready(Ok(MemoryLeaseTable::all(self))).boxed()
    }

    fn checkpoint<'a>(
        &'a self,
        id: &'a str,
        node: &'a str,
        epoch: u64,
        checkpoint: &'a str,
    ) -> BoxFuture<'a, Result<bool, LeaseError>> {
        let written = MemoryLeaseTable::checkpoint(self, id, node, epoch, checkpoint);
        futures_util::future::ready(Ok(written)).boxed()
    }

    fn replace<'a>(
        &'a self,
        id: &'a str,
        node: &'a str,
        epoch: u64,
        successors: &'a [String],
    ) -> BoxFuture<'a, Result<bool, LeaseError>> {
        let replaced = MemoryLeaseTable::replace(self, id, node, epoch, successors);
        futures_util::future::ready(Ok(replaced)).boxed()
    }
}
