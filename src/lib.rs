//! pmflow: predictive-maintenance ML pipelines declared in YAML, run as a DAG, tracked in a
//! SQLite registry, with artifacts in object storage.
//!
//! Layers, each importing only those below it (ARCHITECTURE in README.md; `tests/cli/layers.rs`
//! keeps it so): `app` -> `report` -> `exec` -> `registry`, `artifacts`, `steps` -> `model`,
//! `plot`, `frame`, `pipeline` -> `ml`; `subprocess` (other programs as
//! children) at the bottom. `datagen` stands beside them for `gen-data`.

// Tests are scenarios read top to bottom (set up, act, check); splitting them hides the
// story, so the function-length limit (clippy.toml) is for the code they test.
#![cfg_attr(test, allow(clippy::too_many_lines))]

pub mod app;
pub mod artifacts;
pub mod cli;
pub mod datagen;
pub mod error;
pub mod exec;
pub mod frame;
pub mod html;
pub mod ml;
pub mod model;
pub mod pipeline;
pub mod plot;
pub mod registry;
pub mod report;
pub mod steps;
pub mod subprocess;
