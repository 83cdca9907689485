//! [`MemoryLeaseTable`]: the lease table of one process (standalone mode, in-process tests),
//! with the same compare-and-set rules as the Redis table, behind one mutex.
//!
//! Nothing survives a restart: a standalone node starts every partition from its feed's
//! `start_from` again. `updated_at_ms` is this process's wall clock.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

use crate::lease_store::LeaseRecord;

/// Leases in memory.
#[derive(Debug, Default)]
pub struct MemoryLeaseTable {
    leases: Mutex<BTreeMap<String, LeaseRecord>>,
}

impl MemoryLeaseTable {
    /// An empty table.
    pub fn new() -> Self {
        Self::default()
    }

    /// Creates the leases that do not exist yet (unowned, epoch 0).
    pub fn ensure(&self, ids: &[String]) {
        let mut leases = self.lock();
        for id in ids {
            leases.entry(id.clone()).or_insert_with(|| LeaseRecord {
                id: id.clone(),
                owner: None,
                epoch: 0,
                checkpoint: None,
                updated_at_ms: now_ms(),
            });
        }
    }

    /// Every lease, sorted by id.
    pub fn all(&self) -> Vec<LeaseRecord> {
        self.lock().values().cloned().collect()
    }

    /// Gives lease `id` to `owner` (or nobody) under `new_epoch`, iff its epoch is still
    /// `expected_epoch` and `new_epoch` is greater. `false`: unknown lease or epoch moved.
    pub fn assign(
        &self,
        id: &str,
        owner: Option<&str>,
        expected_epoch: u64,
        new_epoch: u64,
    ) -> bool {
        let mut leases = self.lock();
        match leases.get_mut(id) {
            Some(lease) if lease.epoch == expected_epoch && new_epoch > expected_epoch => {
                lease.owner = owner.map(str::to_owned);
                lease.epoch = new_epoch;
                lease.updated_at_ms = now_ms();
                true
            }
            _ => false,
        }
    }

    /// Records `checkpoint` iff lease `id` is still `node`'s under `epoch`.
    pub fn checkpoint(&self, id: &str, node: &str, epoch: u64, checkpoint: &str) -> bool {
        let mut leases = self.lock();
        match leases.get_mut(id) {
            Some(lease) if lease.epoch == epoch && lease.owner.as_deref() == Some(node) => {
                lease.checkpoint = Some(checkpoint.to_owned());
                lease.updated_at_ms = now_ms();
                true
            }
            _ => false,
        }
    }

    /// Replaces lease `id` by `successors` (see [`crate::lease_table::LeaseTable::replace`]).
    pub fn replace(&self, id: &str, node: &str, epoch: u64, successors: &[String]) -> bool {
        let mut leases = self.lock();
        let checkpoint = match leases.get(id) {
            Some(lease) if lease.epoch == epoch && lease.owner.as_deref() == Some(node) => {
                lease.checkpoint.clone()
            }
            _ => return false,
        };
        leases.remove(id);
        for successor in successors {
            leases
                .entry(successor.clone())
                .or_insert_with(|| LeaseRecord {
                    id: successor.clone(),
                    owner: None,
                    epoch: 0,
                    checkpoint: checkpoint.clone(),
                    updated_at_ms: now_ms(),
                });
        }
        true
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, LeaseRecord>> {
        // A panic while holding the lock cannot leave a record half-written (every write is
        // a few field stores), so a poisoned lock is still a consistent table.
        self.leases.lock().unwrap_or_else(|p| p.into_inner())
    }
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(names: &[&str]) -> Vec<String> {
        names.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn checkpoints_are_fenced_by_owner_and_epoch() {
        let table = MemoryLeaseTable::new();
        table.ensure(&ids(&["f/0"]));
        assert!(!table.checkpoint("f/0", "a", 0, "1"), "unowned");
        assert!(table.assign("f/0", Some("a"), 0, 1));
        assert!(table.checkpoint("f/0", "a", 1, "1"));
        assert!(!table.checkpoint("f/0", "b", 1, "2"), "not the owner");
        assert!(table.assign("f/0", Some("b"), 1, 2));
        assert!(!table.checkpoint("f/0", "a", 1, "3"), "stale epoch");
        assert!(table.checkpoint("f/0", "b", 2, "4"));
        assert_eq!(table.all()[0].checkpoint.as_deref(), Some("4"));
    }

    #[test]
    fn assignments_need_the_current_epoch_and_a_greater_one() {
        let table = MemoryLeaseTable::new();
        table.ensure(&ids(&["f/0"]));
        assert!(!table.assign("f/0", Some("a"), 1, 2));
        assert!(!table.assign("f/0", Some("a"), 0, 0));
        assert!(!table.assign("nope", Some("a"), 0, 1));
        assert!(table.assign("f/0", Some("a"), 0, 1));
        table.ensure(&ids(&["f/0"]));
        assert_eq!(
            table.all()[0].owner.as_deref(),
            Some("a"),
            "ensure keeps what exists"
        );
    }

    #[test]
    fn replacement_hands_the_checkpoint_to_the_successors() {
        let table = MemoryLeaseTable::new();
        table.ensure(&ids(&["f/ab"]));
        assert!(table.assign("f/ab", Some("a"), 0, 1));
        assert!(table.checkpoint("f/ab", "a", 1, "c7"));
        assert!(
            !table.replace("f/ab", "b", 1, &ids(&["f/a", "f/b"])),
            "not the owner"
        );
        assert!(table.replace("f/ab", "a", 1, &ids(&["f/a", "f/b"])));
        let all = table.all();
        assert_eq!(all.len(), 2);
        for lease in all {
            assert_eq!(lease.checkpoint.as_deref(), Some("c7"));
            assert_eq!((lease.owner, lease.epoch), (None, 0));
        }
        assert!(
            !table.replace("f/ab", "a", 1, &ids(&["f/x"])),
            "already replaced"
        );
    }
}
