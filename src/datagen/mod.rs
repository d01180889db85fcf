//! Synthetic predictive-maintenance sensor data (`pmflow gen-data`): options, public types and API.
//!
//! A fleet of machines is sampled at a fixed interval. Each machine degrades towards failure
//! along one of three mechanisms (bearing, overheat, leak) whose signature shows up in the
//! sensors before the failure event, so the `failure` label (an event within the next
//! `horizon`) is genuinely learnable. See `model.rs` for the equations.
//!
//! Output is a pure function of [`GenOptions`]: per-machine random streams are derived from
//! `(seed, machine)`, the RNG and elementary functions are implemented in this module, and the
//! parallel writer emits machines in order, so the same options give byte-identical CSV on every
//! platform and for any thread count.

mod csv;
mod detmath;
mod model;
mod parquet;
mod rng;
mod stream;
#[cfg(test)]
mod tests;

pub use csv::{write_csv_block, write_csv_header};
pub use model::generate_machine;
pub use parquet::write_parquet;
pub use stream::{write_csv, MAX_THREADS};

/// Output columns, in order.
pub const COLUMNS: [&str; 13] = [
    "timestamp",
    "equipment_id",
    "air_temperature",
    "process_temperature",
    "pressure",
    "vibration_rms",
    "rotational_speed",
    "torque",
    "power",
    "current",
    "failure_event",
    "failure_mode",
    "failure",
];

/// Names of `failure_mode` codes 1..=3 (0 = none, written as an empty field).
pub const FAILURE_MODES: [&str; 3] = ["bearing", "overheat", "leak"];

/// Number of sensor columns (`air_temperature` ..= `current`).
pub const SENSOR_COUNT: usize = 8;

/// Epoch seconds of the first sample: 2024-01-01T00:00:00Z (a Monday).
pub const START_EPOCH: i64 = 1_704_067_200;

/// Largest number of rows a single request may produce.
pub const MAX_ROWS: u64 = 2_000_000_000;

/// Longest simulated span, in days (keeps timestamps well inside 4-digit years).
pub const MAX_DAYS: f64 = 1_000_000.0;

/// Generator options; field names map to the CLI flags used in error messages
/// (`--equipment`, `--days`, `--interval`, `--failure-rate`, `--horizon`, `--seed`,
/// `--missing-rate`, `--spike-rate`).
#[derive(Clone, Debug, PartialEq)]
pub struct GenOptions {
    /// Number of machines (M0001 ...).
    pub equipment: u32,
    /// Simulated span per machine, in days.
    pub days: f64,
    /// Sampling interval, in seconds.
    pub interval_secs: u32,
    /// Mean failures per machine per year (365 days); 0 disables failures.
    pub failure_rate_per_year: f64,
    /// Label horizon: `failure` = 1 if an event happens in (t, t + horizon] or at t.
    pub horizon_secs: u64,
    /// Master seed.
    pub seed: u64,
    /// Fraction of sensor values missing (in bursts of 1-5 samples), in [0, 1).
    pub missing_rate: f64,
    /// Probability that a sensor value is an outlier (multiplied by U(2, 4)), in [0, 1].
    pub spike_rate: f64,
}

impl Default for GenOptions {
    fn default() -> Self {
        Self {
            equipment: 50,
            days: 90.0,
            interval_secs: 600,
            failure_rate_per_year: 6.0,
            horizon_secs: 24 * 3600,
            seed: 7,
            missing_rate: 0.01,
            spike_rate: 0.001,
        }
    }
}

/// A generator option that cannot be used; the message names the CLI flag.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{0}")]
pub struct OptionError(pub String);

impl GenOptions {
    /// Checks every option; the message names the offending CLI flag.
    pub fn validate(&self) -> Result<(), OptionError> {
        if self.equipment < 1 {
            return Err(OptionError("--equipment must be at least 1".into()));
        }
        if !self.days.is_finite() || self.days <= 0.0 {
            return Err(OptionError(format!(
                "--days must be a positive number (got {})",
                self.days
            )));
        }
        if self.days > MAX_DAYS {
            return Err(OptionError(format!(
                "--days must be at most {MAX_DAYS} (got {})",
                self.days
            )));
        }
        if self.interval_secs < 1 {
            return Err(OptionError("--interval must be at least 1 second".into()));
        }
        if !self.failure_rate_per_year.is_finite() || self.failure_rate_per_year < 0.0 {
            return Err(OptionError(format!(
                "--failure-rate must be a non-negative number of failures per machine-year (got {})",
                self.failure_rate_per_year
            )));
        }
        if !self.missing_rate.is_finite() || !(0.0..1.0).contains(&self.missing_rate) {
            return Err(OptionError(format!(
                "--missing-rate must be in [0, 1) (got {})",
                self.missing_rate
            )));
        }
        if !self.spike_rate.is_finite() || !(0.0..=1.0).contains(&self.spike_rate) {
            return Err(OptionError(format!(
                "--spike-rate must be in [0, 1] (got {})",
                self.spike_rate
            )));
        }
        if self.samples_per_machine() == 0 {
            return Err(OptionError(format!(
                "--interval ({} s) is longer than --days ({} days): no samples would be generated",
                self.interval_secs, self.days
            )));
        }
        let rows = self.rows();
        if rows > MAX_ROWS {
            return Err(OptionError(format!(
                "the request is {rows} rows ({} machines x {} samples); the maximum is {MAX_ROWS}: \
                 lower --equipment or --days, or raise --interval",
                self.equipment,
                self.samples_per_machine()
            )));
        }
        Ok(())
    }

    /// Samples per machine: whole intervals in `days` (span rounded to the second).
    /// Never panics; 0 for invalid `days` / `interval_secs`.
    pub fn samples_per_machine(&self) -> u64 {
        if self.interval_secs == 0 || self.days.is_nan() || self.days <= 0.0 {
            return 0;
        }
        // `as` saturates for huge values.
        let span = (self.days * 86_400.0).round() as u64;
        span / u64::from(self.interval_secs)
    }

    /// Total data rows (excluding the header) = equipment x samples per machine (saturating).
    pub fn rows(&self) -> u64 {
        u64::from(self.equipment).saturating_mul(self.samples_per_machine())
    }
}

/// One machine's samples, column-oriented: sensors as f64 with NaN = missing.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct MachineBlock {
    /// Equipment number as shown in `equipment_id` (1 => `M0001`).
    pub equipment: u32,
    /// Epoch seconds (UTC).
    pub timestamps: Vec<i64>,
    /// The 8 sensor columns in [`COLUMNS`] order; NaN = missing.
    pub sensors: [Vec<f64>; 8],
    pub failure_event: Vec<u8>,
    /// 0 none, 1 bearing, 2 overheat, 3 leak.
    pub failure_mode: Vec<u8>,
    pub failure: Vec<u8>,
}

impl MachineBlock {
    /// Number of rows (length of `timestamps`).
    pub fn len(&self) -> usize {
        self.timestamps.len()
    }

    pub fn is_empty(&self) -> bool {
        self.timestamps.is_empty()
    }

    fn clear(&mut self) {
        self.timestamps.clear();
        for s in &mut self.sensors {
            s.clear();
        }
        self.failure_event.clear();
        self.failure_mode.clear();
        self.failure.clear();
    }

    fn reserve(&mut self, rows: usize) {
        self.timestamps.reserve(rows);
        for s in &mut self.sensors {
            s.reserve(rows);
        }
        self.failure_event.reserve(rows);
        self.failure_mode.reserve(rows);
        self.failure.reserve(rows);
    }
}
