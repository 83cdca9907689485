//! What can go wrong running the leader election.

/// A leader election failure; the text says what the caller should do.
#[derive(Debug, thiserror::Error)]
pub enum LeaderError {
    /// Redis could not be reached or refused the command. A leader that sees this must act
    /// as a follower until a tick succeeds again: its key may expire meanwhile.
    #[error("leader election redis command failed ({0}); act as a follower and tick again")]
    Redis(#[from] redis::RedisError),
    /// The configuration cannot work.
    #[error("invalid leader election settings: {0}; fix the coordinator configuration")]
    Invalid(&'static str),
    /// The leader key holds something that is not `<candidate_id>:<token>`.
    #[error("the leader key holds {0:?}, not <candidate_id>:<token>; delete that redis key")]
    Malformed(String),
}
