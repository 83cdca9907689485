//! [`CoordinatorHandle`]: the coordinator's API, cheap to clone and free of its type
//! parameters (the Redis connection type stays inside the actor).

use actix::Recipient;

use super::actor::{GetStatus, Stop};
use super::error::CoordinatorError;
use super::status::CoordinatorStatus;

/// Talks to one running [`Coordinator`](super::Coordinator).
#[derive(Clone)]
pub struct CoordinatorHandle {
    status: Recipient<GetStatus>,
    stop: Recipient<Stop>,
}

impl CoordinatorHandle {
    pub(crate) fn new(status: Recipient<GetStatus>, stop: Recipient<Stop>) -> Self {
        Self { status, stop }
    }

    /// What the coordinator saw at the end of its last tick.
    ///
    /// # Errors
    /// [`CoordinatorError::Stopped`] once the coordinator has stopped.
    pub async fn status(&self) -> Result<CoordinatorStatus, CoordinatorError> {
        self.status
            .send(GetStatus {})
            .await
            .map_err(|_| CoordinatorError::Stopped)
    }

    /// Resigns leadership (if held), so another coordinator takes over at its next tick, and
    /// stops the coordinator.
    ///
    /// # Errors
    /// [`CoordinatorError::Stopped`] if it had already stopped; the election's error if the
    /// resignation failed (the stop still happens, and the leadership lapses after its TTL).
    pub async fn stop(&self) -> Result<(), CoordinatorError> {
        self.stop
            .send(Stop {})
            .await
            .map_err(|_| CoordinatorError::Stopped)?
    }
}
