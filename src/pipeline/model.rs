//! The validated pipeline: typed, checked, with every path resolved. Built only by `validate`;
//! generic over the catalog of step kinds (see `catalog`), which the format does not know.

use std::path::PathBuf;
use std::time::Duration;

use super::catalog::StepCatalog;
use super::location::{ArtifactLocation, RegistryLocation};

#[derive(Debug, Clone)]
pub struct Pipeline<C: StepCatalog> {
    pub name: String,
    pub experiment: String,
    /// `params:` after `--set`, flattened to `a.b` keys, as recorded in the registry.
    pub params: Vec<(String, serde_json::Value)>,
    pub storage: Storage,
    pub schedule: Option<Schedule>,
    /// In file order; `graph::order` gives an execution order.
    pub steps: Vec<Step<C>>,
    pub source: Source,
}

/// Where the pipeline came from and what exactly it resolved to.
#[derive(Debug, Clone)]
pub struct Source {
    pub file: PathBuf,
    /// Relative paths in the pipeline resolve against this directory (see `project_root`).
    pub root: PathBuf,
    /// The whole document after `--set` and `${params.*}`, as pretty JSON.
    pub resolved: String,
    /// sha256 of `resolved`, hex.
    pub hash: String,
}

#[derive(Debug, Clone)]
pub struct Storage {
    pub registry: RegistryLocation,
    pub artifacts: ArtifactLocation,
}

#[derive(Debug, Clone)]
pub struct Schedule {
    pub cron: String,
    pub timezone: chrono_tz::Tz,
    pub overlap: Overlap,
    pub on_missed: OnMissed,
    pub when: When,
    pub enabled: bool,
}

/// What a fire does while the pipeline's previous run is still going.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Overlap {
    /// The fire is skipped (and logged).
    Skip,
    /// The fire waits for the running one; at most one fire waits.
    Queue,
}

/// What the daemon does about fires it missed while it was down.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnMissed {
    Skip,
    /// One catch-up run, however many fires were missed.
    RunOnce,
}

/// Whether a fire retrains every time or only when its drift step finds drift.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum When {
    Always,
    Drift,
}

#[derive(Debug, Clone)]
pub struct Step<C: StepCatalog> {
    pub id: String,
    pub kind: C::Kind,
    pub needs: Vec<String>,
    pub retries: u32,
    pub timeout: Option<Duration>,
    pub params: C::Params,
    /// The resolved `with:` mapping, recorded as the step's parameters.
    pub with: serde_json::Value,
}
