//! Herald node.
pub mod auth;
