//! What can go wrong running a coordinator.

use crate::leader::LeaderError;
use crate::lease_store::LeaseError;
use crate::membership::MembershipError;

/// A coordinator failure; the text says what the caller should do.
#[derive(Debug, thiserror::Error)]
pub enum CoordinatorError {
    /// The election failed (or the settings are invalid).
    #[error(transparent)]
    Leader(#[from] LeaderError),
    /// Reading or writing leases failed.
    #[error(transparent)]
    Lease(#[from] LeaseError),
    /// Reading the node registry failed.
    #[error(transparent)]
    Membership(#[from] MembershipError),
    /// The assignment summary could not be published; nodes still converge on their next
    /// periodic re-read.
    #[error("publishing the lease assignments failed ({0}); nodes will pick them up on re-read")]
    Publish(redis::RedisError),
    /// The coordinator actor has stopped (or its mailbox is gone).
    #[error("the coordinator has stopped; start a new one")]
    Stopped,
}
