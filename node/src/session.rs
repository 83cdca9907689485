//! Client sessions: the protocol state of one connection, independent of its transport.
//!
//! - [`core`]: the sans-I/O state machine (handshake, inbound messages, keep-alive, timeouts);
//! - [`link`]: what the hub holds to reach a session (frames queue, control mailbox);
//! - [`close_reason`]: why a session ended.

pub mod close_reason;
pub mod core;
pub mod link;
