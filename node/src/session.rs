//! Client sessions: the protocol state of one connection, independent of its transport.
//!
//! - [`actor`]: the session actor (one per connection) that transports attach to;
//! - [`core`]: the sans-I/O state machine (handshake, inbound messages, keep-alive, timeouts);
//! - [`outbox`]: the bounded outbound queue and its hand-over between transport requests;
//! - [`replay`]: unacknowledged messages kept for stateful reconnect;
//! - [`handle`]: what transport requests hold to reach a session;
//! - [`link`]: what the hub holds to reach a session;
//! - [`close_reason`]: why a session ended.

pub mod actor;
pub mod close_reason;
pub mod core;
pub mod handle;
pub mod link;
pub mod outbox;
pub mod replay;
