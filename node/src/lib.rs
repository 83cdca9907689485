//! Herald node: a push server that speaks the ASP.NET Core SignalR protocol to clients and the
//! Azure SignalR Service REST API to applications.
//!
//! Map (messages flow top to bottom for pushes, bottom to top for client input):
//! - [`http`]: the edge — client endpoints, REST API, admin API; the only place that knows
//!   actix-web request types;
//! - [`transport`]: per-connection actors that carry bytes (WebSockets);
//! - [`session`]: the transport-independent protocol state of a connection;
//! - [`hub`]: per-hub actors owning the connection/user/group registry; fan-out encodes once
//!   per protocol and queues shared bytes to bounded session queues;
//! - [`connections`]: negotiated connections (token → id, hub, user);
//! - [`admin`]: the cluster-wide view for the admin API (gathered from Redis and every node);
//! - [`drain`]: the drain switch (SIGTERM, or the admin API while the node keeps running);
//! - [`auth`], [`config`], [`metrics`]: cross-cutting pieces passed in as handles;
//! - [`server`]: the composition root, [`run`].
//! - [`demo`]: the stock board page served at `/` in standalone mode.
//! - [`probe`]: `herald probe`, one client and REST round trip through a running Herald;
//! - [`ctl`]: `herald ctl`, the operators' command line; a client of the admin API over HTTP,
//!   independent of everything above.

pub mod admin;
pub mod auth;
pub mod backplane;
pub mod cluster;
pub mod config;
pub mod connections;
pub mod coordinator_mode;
pub mod ctl;
pub mod demo;
pub mod drain;
pub mod feed;
pub mod http;
pub mod hub;
pub mod metrics;
pub mod probe;
pub mod server;
pub mod session;
pub mod telemetry;
pub mod transport;
pub mod upstream;

pub use server::{Mode, run};
