//! What can go wrong reading or writing leases.

/// A lease store failure; the text says what the caller should do.
#[derive(Debug, thiserror::Error)]
pub enum LeaseError {
    /// Redis could not be reached or refused the command.
    #[error("lease store redis command failed ({0}); check the redis connection and retry")]
    Redis(#[from] redis::RedisError),
    /// `assign` on a lease that `ensure` never created.
    #[error("lease {id} does not exist; call ensure() with its id first")]
    UnknownLease {
        /// The lease id.
        id: String,
    },
    /// The leader key no longer holds this token: the caller was deposed.
    #[error(
        "leader token {token} is no longer the current leader; stop assigning leases and run the election again"
    )]
    Fenced {
        /// The stale token the caller passed.
        token: u64,
    },
    /// `assign` must move the epoch forward, or nodes could not tell stale owners apart.
    #[error(
        "new epoch {new} is not greater than the expected epoch {expected}; pass a higher new epoch"
    )]
    EpochNotIncreasing {
        /// The epoch the caller expected to be stored.
        expected: u64,
        /// The epoch it wanted to write.
        new: u64,
    },
    /// A stored field or a script reply could not be read.
    #[error("lease {id} has an unreadable {what}: {value:?}; repair or delete that redis key")]
    Malformed {
        /// The lease id.
        id: String,
        /// Which field or reply.
        what: &'static str,
        /// What was found.
        value: String,
    },
}
