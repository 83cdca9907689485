//! Herald coordinator: assigns change-feed leases (one per feed partition) to live nodes.
//!
//! The pieces, from the inside out: a pure balancer that plans moves from (leases, live
//! nodes); leader election among coordinators with a fencing token; and the lease table in
//! Redis whose writes are compare-and-set on the lease epoch (and, for assignments, on the
//! leader's token), so neither a deposed leader nor a paused former owner can overwrite newer
//! state. The coordinator actor runs them on a timer; the node-side feed readers are next.
//!
//! - [`balancer`]: the pure lease balancer, which live node owns which lease.
//! - [`lease_store`]: leases in Redis (owner, epoch, checkpoint), fenced compare-and-set writes.
//! - [`lease_table`]: the [`lease_table::LeaseTable`] trait nodes use, over Redis or memory.
//! - [`memory_leases`]: the lease table of one process (standalone mode).
//! - [`leader`]: leader election among coordinators, with a monotonic fencing token.
//! - [`membership`]: the live nodes, read from the node registry.
//! - [`embedded`]: the coordinator of one process, over the in-memory lease table.
//! - [`coordinator`]: the actor that runs election, balancing and lease writes on a timer.

pub mod balancer;
pub mod coordinator;
pub mod embedded;
pub mod leader;
pub mod lease_store;
pub mod lease_table;
pub mod membership;
pub mod memory_leases;
