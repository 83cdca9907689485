//! The coordinator actor: assigns change-feed leases across the live nodes.
//!
//! Every tick (default 1 s) a coordinator runs the leader election; the leader then makes
//! sure the configured leases exist (once per leadership), reads the lease table and the live
//! nodes, plans with the pure [`balancer::plan`](crate::balancer::plan), writes each move as a
//! fenced compare-and-set, and publishes one summary on `<prefix>:assignments` if anything
//! changed. Followers only read, so their [`CoordinatorStatus`] is useful for the admin API
//! too. Any number of coordinators may run; the fencing token keeps a deposed leader's writes
//! out.
//!
//! - `settings`: [`CoordinatorSettings`], what one coordinator is configured with;
//! - `engine`: one tick as plain async code;
//! - `summary`: the published assignment summary and its channel;
//! - `actor`: [`Coordinator`], which runs ticks without overlap;
//! - `handle`: [`CoordinatorHandle`], the API;
//! - `status`: [`CoordinatorStatus`], what the last tick saw;
//! - `error`: [`CoordinatorError`].

mod actor;
mod engine;
mod error;
mod handle;
mod settings;
mod status;
mod summary;

#[cfg(test)]
mod tests;

pub use actor::Coordinator;
pub use error::CoordinatorError;
pub use handle::CoordinatorHandle;
pub use settings::{CoordinatorSettings, DEFAULT_LEADER_TTL, DEFAULT_TICK};
pub use status::CoordinatorStatus;
pub use summary::assignments_channel;
