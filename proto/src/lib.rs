//! Herald wire types. No I/O, no runtime.
//!
//! - [`ids`]: validated hub names, node ids and connection ids.
pub mod ids;
