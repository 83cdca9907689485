//! Herald node.
pub mod auth;
pub mod config;
