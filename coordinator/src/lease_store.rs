//! The lease store: which node reads which `(feed, partition)` lease, under which epoch, and
//! how far it got — in Redis, with fencing on both sides.
//!
//! * The leader assigns leases with [`LeaseStore::assign`], a compare-and-set on the lease's
//!   epoch that also checks the leader key still holds the leader's fencing token, so a
//!   deposed leader cannot overwrite its successor's assignments.
//! * Nodes report progress with [`LeaseStore::checkpoint`], a compare-and-set on epoch and
//!   owner, so a node that lost a lease (the epoch moved on) learns it and stops reading.
//!
//! Key layout: see [`keys`]. All keys share one Redis Cluster slot.

mod error;
pub mod keys;
mod record;
mod scripts;

#[cfg(test)]
pub(crate) mod test_redis;
#[cfg(test)]
mod tests;

use std::collections::HashMap;

use redis::aio::ConnectionLike;

pub use error::LeaseError;
pub use keys::DEFAULT_PREFIX;
pub use record::LeaseRecord;

use keys::Keys;

/// Leases in Redis, over a caller-provided (cloneable, reconnecting) connection.
#[derive(Clone)]
pub struct LeaseStore<C> {
    conn: C,
    keys: Keys,
}

impl<C: ConnectionLike + Clone + Send> LeaseStore<C> {
    /// A store over `conn` with keys under `prefix` (empty means [`DEFAULT_PREFIX`]).
    pub fn new(conn: C, prefix: &str) -> Self {
        Self {
            conn,
            keys: Keys::new(prefix),
        }
    }

    /// Creates the leases that do not exist yet (epoch 0, no owner); existing ones are left
    /// untouched, so every coordinator may call this with the configured feeds at start.
    pub async fn ensure(&self, ids: &[String]) -> Result<(), LeaseError> {
        let mut conn = self.conn.clone();
        for id in ids {
            let _created: i64 = scripts::ENSURE
                .key(self.keys.lease(id))
                .key(self.keys.leases())
                .arg(id)
                .invoke_async(&mut conn)
                .await?;
        }
        Ok(())
    }

    /// Every lease, sorted by id.
    pub async fn all(&self) -> Result<Vec<LeaseRecord>, LeaseError> {
        let mut conn = self.conn.clone();
        let mut ids: Vec<String> = redis::cmd("SMEMBERS")
            .arg(self.keys.leases())
            .query_async(&mut conn)
            .await?;
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        ids.sort();
        let mut pipe = redis::pipe();
        for id in &ids {
            pipe.cmd("HGETALL").arg(self.keys.lease(id));
        }
        let hashes: Vec<HashMap<String, String>> = pipe.query_async(&mut conn).await?;
        let mut records = Vec::with_capacity(ids.len());
        for (id, fields) in ids.iter().zip(hashes) {
            // A hash deleted by hand while still indexed is skipped, not an error.
            if let Some(record) = LeaseRecord::from_fields(id, fields)? {
                records.push(record);
            }
        }
        Ok(records)
    }

    /// One lease, `None` if it does not exist.
    pub async fn get(&self, id: &str) -> Result<Option<LeaseRecord>, LeaseError> {
        let mut conn = self.conn.clone();
        let fields: HashMap<String, String> = redis::cmd("HGETALL")
            .arg(self.keys.lease(id))
            .query_async(&mut conn)
            .await?;
        LeaseRecord::from_fields(id, fields)
    }

    /// Leader only: gives lease `id` to `owner` (or nobody) under `new_epoch`, iff its stored
    /// epoch is still `expected_epoch` and the leader key still holds `leader_token`.
    ///
    /// `Ok(false)` means the epoch moved on (someone else assigned it): read it again.
    /// [`LeaseError::Fenced`] means the caller is no longer leader and must stop assigning.
    pub async fn assign(
        &self,
        id: &str,
        owner: Option<&str>,
        expected_epoch: u64,
        new_epoch: u64,
        leader_token: u64,
    ) -> Result<bool, LeaseError> {
        if new_epoch <= expected_epoch {
            return Err(LeaseError::EpochNotIncreasing {
                expected: expected_epoch,
                new: new_epoch,
            });
        }
        let mut conn = self.conn.clone();
        let mut invocation = scripts::ASSIGN.key(self.keys.lease(id));
        invocation
            .key(self.keys.leader())
            .arg(expected_epoch)
            .arg(new_epoch)
            .arg(leader_token);
        match owner {
            Some(owner) => invocation.arg("1").arg(owner),
            None => invocation.arg("0"),
        };
        let reply: i64 = invocation.invoke_async(&mut conn).await?;
        match reply {
            scripts::ASSIGN_APPLIED => Ok(true),
            scripts::ASSIGN_EPOCH_MOVED => Ok(false),
            scripts::ASSIGN_FENCED => Err(LeaseError::Fenced {
                token: leader_token,
            }),
            scripts::ASSIGN_UNKNOWN => Err(LeaseError::UnknownLease { id: id.to_owned() }),
            other => Err(LeaseError::Malformed {
                id: id.to_owned(),
                what: "assign script reply",
                value: other.to_string(),
            }),
        }
    }

    /// Node: records `checkpoint` for lease `id`, iff the lease is still `node`'s under
    /// `epoch`. `Ok(false)` means the node lost the lease (reassigned, or never its own): it
    /// must stop reading it; the stored checkpoint is left as the new owner's.
    pub async fn checkpoint(
        &self,
        id: &str,
        node: &str,
        epoch: u64,
        checkpoint: &str,
    ) -> Result<bool, LeaseError> {
        let mut conn = self.conn.clone();
        let written: i64 = scripts::CHECKPOINT
            .key(self.keys.lease(id))
            .arg(node)
            .arg(epoch)
            .arg(checkpoint)
            .invoke_async(&mut conn)
            .await?;
        Ok(written == 1)
    }

    /// Node: replaces lease `id` by `successors` iff it is still `node`'s under `epoch`
    /// (see [`crate::lease_table::LeaseTable::replace`]). `Ok(false)`: the lease moved on.
    pub async fn replace(
        &self,
        id: &str,
        node: &str,
        epoch: u64,
        successors: &[String],
    ) -> Result<bool, LeaseError> {
        let mut conn = self.conn.clone();
        let mut invocation = scripts::REPLACE.key(self.keys.lease(id));
        invocation
            .key(self.keys.leases())
            .arg(node)
            .arg(epoch)
            .arg(id);
        for successor in successors {
            invocation.key(self.keys.lease(successor)).arg(successor);
        }
        let replaced: i64 = invocation.invoke_async(&mut conn).await?;
        Ok(replaced == 1)
    }
}
