//! pmflow: predictive-maintenance ML pipelines declared in YAML, run as a DAG, tracked in a
//! SQLite registry, with artifacts in object storage.

pub mod app;
pub mod artifacts;
pub mod cli;
pub mod datagen;
pub mod direct_io;
pub mod error;
pub mod exec;
pub mod memory;
pub mod ml;
pub mod parquet;
pub mod pipeline;
pub mod plot;
pub mod registry;
pub mod report;
pub mod schedule;
pub mod steps;
pub mod table;
pub mod upload;
