//! Herald wire types. No I/O, no runtime.
