//! Client transports. Each carries bytes between a client and its session; the protocol logic
//! lives in [`crate::session`].

pub mod websocket;
