//! Integration test harness for Herald.
//!
//! Every test starts its own `herald` process ([`HeraldProcess`]) on free loopback ports,
//! talks to it through the Azure-style REST API ([`Rest`]), raw WebSockets ([`RawWs`]) and
//! the official SignalR clients driven as child processes ([`JsClient`], [`PyClient`]).

pub mod binary;
pub mod browser;
pub mod chart;
pub mod cluster_sandbox;
pub mod config;
pub mod ctl;
pub mod dashboard;
pub mod driver;
pub mod feed_sandbox;
pub mod frames;
pub mod http_connection;
pub mod js_client;
pub mod js_fleet;
pub mod metrics;
pub mod names;
pub mod negotiate;
pub mod otlp_receiver;
pub mod ports;
pub mod process;
pub mod proxy;
pub mod py_client;
pub mod raw_http;
pub mod raw_ws;
pub mod redis_cluster;
pub mod redis_sentinel;
pub mod redis_server;
pub mod rest;
pub mod round_robin;
pub mod smoke;
pub mod tls_pki;
pub mod token;
pub mod upstream_server;
pub mod wait;

pub use cluster_sandbox::{ClusterBuilder, ClusterSandbox};
pub use config::HeraldConfig;
pub use dashboard::Dashboard;
pub use driver::Driver;
pub use feed_sandbox::{FeedSandbox, Producer};
pub use http_connection::{EventStream, HttpConnection, PendingReply};
pub use js_client::{JsClient, JsOptions, Protocol, Transport};
pub use js_fleet::{FleetOptions, JsFleet};
pub use names::unique;
pub use otlp_receiver::{OtlpReceiver, ReceivedSpan};
pub use process::HeraldProcess;
pub use proxy::TcpProxy;
pub use py_client::PyClient;
pub use raw_ws::{RawWs, WsFrame};
pub use redis_cluster::RedisCluster;
pub use redis_sentinel::RedisSentinel;
pub use redis_server::RedisServer;
pub use rest::{Auth, Reply, Rest};
pub use round_robin::RoundRobinProxy;
pub use smoke::assert_serves_clients;
pub use tls_pki::TestPki;
pub use wait::{poll_until, wait_until};
