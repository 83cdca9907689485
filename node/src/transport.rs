//! Client transports. Each carries bytes between a client and its session; the protocol logic
//! lives in [`crate::session`].
//!
//! - [`websocket`]: full duplex, one actor per socket;
//! - [`sse`]: Server-Sent Events responses (server to client);
//! - [`long_polling`]: polls (server to client);
//! - [`attachment`]: ties a request-scoped transport to its session.
//!
//! With SSE and long polling the client sends with POST requests, handled in
//! [`crate::http::client`].

pub mod attachment;
pub mod long_polling;
pub mod sse;
pub mod websocket;
