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
        partition: u32,
        /// What the store said.
        message: String,
    },
    /// The partition does not exist.
    #[error("feed {feed} has no partition {partition}: it has {partitions} (source.partitions)")]
    NoPartition {
        /// The feed's name.
        feed: String,
        /// The partition asked for.
        partition: u32,
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
        partition: u32,
        /// The checkpoint given.
        checkpoint: String,
    },
    /// The store answered with something this source does not understand.
    #[error("feed {feed} partition {partition}: unexpected reply from the source: {message}")]
    Protocol {
        /// The feed's name.
        feed: String,
        /// The partition.
        partition: u32,
        /// What was wrong.
        message: String,
    },
}

/// A partitioned source of changes.
pub trait ChangeSource: Send + Sync {
    /// How many partitions, numbered from 0.
    fn partitions(&self) -> u32;

    /// Up to `max` changes of `partition` after the checkpoint `after` (or from `start_from`
    /// without one), waiting up to `wait` for the first; an empty batch after the wait.
    fn read(
        &self,
        partition: u32,
        after: Option<&str>,
        start_from: &StartFrom,
        max: usize,
        wait: Duration,
    ) -> BoxFuture<'_, Result<Batch, SourceError>>;

    /// How many changes of `partition` are after the checkpoint `after` (all retained ones
    /// without one); may be approximate, see the implementation.
    fn lag(&self, partition: u32, after: Option<&str>) -> BoxFuture<'_, Result<u64, SourceError>>;
}
