//! Herald coordinator.
