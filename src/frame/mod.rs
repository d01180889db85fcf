//! The table that passes between steps (a polars frame with its column roles) and its Parquet
//! codec, and the scratch files tables are read from. No storage, no registry.

pub mod parquet;
mod table;
mod temp;

pub use table::*;
pub use temp::temporary_path;
