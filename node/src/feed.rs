//! Change feeds → pushes (see "Change feeds → pushes" in ARCHITECTURE.md): changes read from
//! a partitioned source are routed to hub scopes and pushed to clients.
//!
//! - [`source`]: the [`ChangeSource`] abstraction: partitions, positions, batches, lag;
//! - [`redis_stream`]: the `redis-stream` source, one Redis stream per partition;
//! - [`cosmos`]: the `cosmos` source, a Cosmos DB container's change feed per feed range (and
//!   the embedded in-memory account of standalone mode);
//! - [`mod@route`]: from one change to one push (scope, target, arguments), pure;
//! - [`reader`]: one reader per owned lease: read, route, push, then checkpoint (fenced);
//! - [`handler`]: a feed's user code: batches POSTed, messages answered;
//! - [`sink`]: where pushes go (the node's hubs and backplane, or a test's recorder);
//! - [`runner`]: follows the lease table and starts/stops readers;
//! - [`startup`]: which lease table, coordinator and sources, per mode.

pub mod cosmos;
pub mod handler;
pub mod reader;
pub mod redis_stream;
pub mod route;
pub mod runner;
pub mod sink;
pub mod source;
pub mod startup;
mod stream_reply;

pub use cosmos::{CosmosSource, EmbeddedCosmos};
pub use redis_stream::RedisStreamSource;
pub use route::{RouteError, Routed, route};
pub use source::{Batch, Change, ChangeSource, SourceError};

#[cfg(test)]
mod redis_fixture;
#[cfg(test)]
mod redis_stream_tests;
#[cfg(test)]
mod redis_stream_wait_tests;
#[cfg(test)]
mod route_tests;
#[cfg(test)]
mod runner_tests;
