//! Herald's benchmark suite: a lean load generator that speaks SignalR (and engine.io v4 for
//! the socket.io peer) itself, the raw Rust WebSocket "floor" server, and the orchestrator that
//! runs every scenario against Herald, the socket.io 4.8 peer (`peer/`) and the floor side by
//! side and prints a table of ratios. Method and results: `docs/benchmarks.md`.
//!
//! Processes: `herald-bench` (the orchestrator, pinned to the load core) starts the servers
//! pinned to the server core ([`servers`]), starts `bench-worker` load processes ([`workers`] →
//! [`worker`]), publishes REST broadcasts itself ([`publisher`]) and reads CPU and RSS from
//! `/proc` ([`proc_stat`]). Workers open connections ([`connect`]) and run one receive loop per
//! connection ([`receiver`]) that parses frames in place ([`ws_frame`]), finds the publisher's
//! time stamps ([`stamp`]) and records latency ([`latency`]). `bench-floor` is [`floor`];
//! `bench-otlp-sink` ([`otlp_sink`]) is the collector of the tracing overhead runs.
//!
//! Map:
//! - wire: [`ws_frame`], [`http_wire`], [`signalr`], [`sse_lp`] (SignalR over SSE and long
//!   polling), [`engineio`], [`redis_resp`], [`stamp`]
//! - load side: [`flavor`], [`connect`], [`receiver`], [`worker`], [`latency`]
//! - orchestration: [`setup`], [`servers`], [`workers`], [`publisher`], [`step`], [`profile`]
//! - scenarios: [`fanout`] (also idle memory, connect rate, reconnect storm), [`cross_node`],
//!   [`change_feed`], [`slow_consumer`], [`transports`] (WebSockets vs SSE vs long polling);
//!   [`suite`] runs them and [`table`] reports

pub mod change_feed;
pub mod connect;
pub mod cross_node;
pub mod engineio;
pub mod fanout;
pub mod flavor;
pub mod floor;
pub mod http_wire;
pub mod latency;
pub mod otlp_sink;
pub mod proc_stat;
pub mod profile;
pub mod publisher;
pub mod receiver;
pub mod redis_resp;
pub mod servers;
pub mod setup;
pub mod signalr;
pub mod slow_consumer;
pub mod sse_lp;
pub mod stamp;
pub mod step;
pub mod suite;
pub mod table;
pub mod transports;
pub mod worker;
pub mod workers;
pub mod ws_frame;
