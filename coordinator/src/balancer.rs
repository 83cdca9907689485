//! The lease balancer: a pure, sans-I/O core that decides which live node owns which lease.
//!
//! Like raft-rs's core it reads no clock, store or network: the coordinator's actor loads the
//! lease table and the membership, calls [`plan`], and writes the [`Move`]s with each move's
//! epoch as the compare-and-set fence. Because the same inputs always give the same plan, the
//! whole policy is tested here without Redis.
//!
//! - `lease`: [`LeaseId`] and [`LeaseState`], the records being balanced;
//! - `node`: [`LiveNode`], who may own leases;
//! - `share`: the fair share of each node and [`is_balanced`];
//! - `plan`: [`plan`], the fewest moves to a balanced table (and why they are fewest);
//! - `moves`: [`Move`] and [`apply`], how a plan changes the table.

mod lease;
mod moves;
mod node;
mod plan;
mod share;

#[cfg(test)]
mod proptests;
#[cfg(test)]
mod tests;

pub use lease::{LeaseId, LeaseState};
pub use moves::{Move, apply};
pub use node::LiveNode;
pub use plan::plan;
pub use share::is_balanced;
