//! What a feed reads from: partitions of ordered changes, each change with a position that
//! is also a checkpoint to resume after.
//!
//! Object-safe (futures are boxed) so the pipeline holds an `Arc<dyn ChangeSource>` and tests
//! or other databases can stand in for Redis streams.

use std::time::Duration;

use futures_util::future::BoxFuture;
use serde_json::Value;

use crate::config::StartFrom;

/// One change of one partition.
#[derive(Debug, Clone, PartialEq)]
pub struct Change {
    /// Where it is in its partition; checkpointing it resumes after this change.
    pub position: String,
    /// The JSON document, or why the entry holds none. A bad entry is reported here rather
    /// than failing the read, so one bad producer write cannot stall a partition.
    pub document: Result<Value, String>,
}

/// The changes one read returned.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Batch {
    /// In partition order; empty when nothing arrived within the wait.
    pub changes: Vec<Change>,
    /// What to checkpoint once the batch is published: the last change's position, or, for a
    /// read without a checkpoint, the position the start resolved to (so a `now` start is not
    /// re-resolved, and changes made meanwhile are not skipped). `None`: keep the checkpoint.
    pub next_checkpoint: Option<String>,
}

/// Why a read failed; the caller retries with backoff, the checkpoint is unchanged.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    /// The store could not be reached or refused the command.
    #[error(
        "cannot read feed {feed} partition {partition}: {message}: check that the source is reachable"
    )]
    Unavailable {
        /// The feed's name.
        feed: String,
        /// The partition read.
        partition: String,
        /// What the store said.
        message: String,
    },
    /// The partition does not exist.
    #[error("feed {feed} has no partition {partition:?}: it has {partitions} (source.partitions)")]
    NoPartition {
        /// The feed's name.
        feed: String,
        /// The partition asked for.
        partition: String,
        /// How many there are.
        partitions: u32,
    },
    /// A checkpoint that is not a position of this source (e.g. written by another kind of
    /// source under the same lease).
    #[error(
        "feed {feed} partition {partition}: checkpoint {checkpoint:?} is not a valid position: delete the lease's checkpoint to start over from start_from"
    )]
    BadCheckpoint {
        /// The feed's name.
        feed: String,
        /// The partition.
        partition: String,
        /// The checkpoint given.
        checkpoint: String,
    },
    /// The partition no longer exists: it was split or merged into `successors`, which
    /// continue from its checkpoint. The lease is replaced by theirs; nothing is skipped.
    #[error(
        "feed {feed} partition {partition:?} was split or merged into {successors:?}: its lease is handed over to theirs"
    )]
    Replaced {
        /// The feed's name.
        feed: String,
        /// The partition that is gone.
        partition: String,
        /// The partitions that now cover its range.
        successors: Vec<String>,
    },
    /// The store refused the read for now because of its rate limit (Cosmos DB: 429, request
    /// units exhausted, after the SDK's own retries); the source waits `retry_after` before
    /// its next request of this partition.
    #[error(
        "feed {feed} partition {partition}: throttled by the source (rate limit), retrying after {retry_after:?}: if this persists, raise the container's throughput (RU/s) or the feed's poll_delay"
    )]
    Throttled {
        /// The feed's name.
        feed: String,
        /// The partition.
        partition: String,
        /// How long the source asked to wait.
        retry_after: Duration,
    },
    /// The source refused Herald's credentials or their permissions.
    #[error("feed {feed} partition {partition}: not allowed to read the source: {message}")]
    Unauthorized {
        /// The feed's name.
        feed: String,
        /// The partition.
        partition: String,
        /// What was refused and what to check.
        message: String,
    },
    /// A lease names a partition this kind of source cannot have (e.g. a redis-stream lease
    /// under a feed that now reads Cosmos DB).
    #[error(
        "feed {feed}: {partition:?} is not a partition of this source ({expected}): delete the lease; leases are created from the source's partitions"
    )]
    NotAPartition {
        /// The feed's name.
        feed: String,
        /// The partition asked for.
        partition: String,
        /// What a partition of this source looks like.
        expected: String,
    },
    /// The store answered with something this source does not understand.
    #[error("feed {feed} partition {partition}: unexpected reply from the source: {message}")]
    Protocol {
        /// The feed's name.
        feed: String,
        /// The partition.
        partition: String,
        /// What was wrong.
        message: String,
    },
}

impl SourceError {
    /// The `kind` label of `herald_feed_read_errors_total`.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Unavailable { .. } => "unavailable",
            Self::NoPartition { .. } => "no_partition",
            Self::BadCheckpoint { .. } => "bad_checkpoint",
            Self::Replaced { .. } => "replaced",
            Self::Protocol { .. } => "protocol",
            Self::Throttled { .. } => "throttled",
            Self::Unauthorized { .. } => "unauthorized",
            Self::NotAPartition { .. } => "not_a_partition",
        }
    }
}

/// A partitioned source of changes. Partitions are named by strings: stream numbers for
/// `redis-stream`, feed ranges for Cosmos DB; each becomes the lease `<feed>/<partition>`.
pub trait ChangeSource: Send + Sync {
    /// The partitions as they are now. A source whose partitions split or merge reports the
    /// new ones here, and [`SourceError::Replaced`] from reads of the old ones.
    fn partitions(&self) -> BoxFuture<'_, Result<Vec<String>, SourceError>>;

    /// Of the partitions `listed` (from [`Self::partitions`]), those that need a new lease when
    /// the feed's leases already cover the partitions `existing`. The default: those not among
    /// them. A source whose partitions split and merge keeps a lease that still covers part of
    /// a listed partition from being doubled by a new one.
    fn new_partitions(&self, existing: &[String], listed: &[String]) -> Vec<String> {
        listed
            .iter()
            .filter(|p| !existing.contains(p))
            .cloned()
            .collect()
    }

    /// Up to `max` changes of `partition` after the checkpoint `after` (or from `start_from`
    /// without one), waiting up to `wait` for the first; an empty batch after the wait.
    fn read<'a>(
        &'a self,
        partition: &'a str,
        after: Option<&'a str>,
        start_from: &'a StartFrom,
        max: usize,
        wait: Duration,
    ) -> BoxFuture<'a, Result<Batch, SourceError>>;

    /// How many changes of `partition` are after the checkpoint `after` (all retained ones
    /// without one); may be approximate, see the implementation.
    fn lag<'a>(
        &'a self,
        partition: &'a str,
        after: Option<&'a str>,
    ) -> BoxFuture<'a, Result<u64, SourceError>>;
}
