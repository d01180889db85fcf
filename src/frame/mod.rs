//! The table that passes between steps (a polars frame with its column roles) and its Parquet
//! codec. Pure: no storage, no registry.

pub mod parquet;
mod table;

pub use table::*;
