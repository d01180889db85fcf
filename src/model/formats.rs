//! The names of the fitted state a pipeline's steps hand down and a model carries with it: what
//! new data must be prepared with before a model sees it. One place names them, so the step
//! that writes a file and the code that reads it back cannot disagree.

/// The outlier fences a `clean` step fitted (clip or drop), as `{"columns": {NAME: [low, high]}}`.
pub const OUTLIER_FENCES: &str = "outlier_fences.json";
/// The scaler `split` fitted on the train part.
pub const SCALER: &str = "scaler.json";
/// How `feature` made each column from raw sensor data.
pub const FEATURE_MANIFEST: &str = "feature_manifest.json";

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::ModelError;
use crate::ml::scaler::{ColumnScale, ScalerKind};

/// The scaler `split` fitted on the train part: [`SCALER`], and a model card's `scaler`.
/// Fields in name order, as the file has always had them.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Scaler {
    /// Each scaled column's transform; the others are left as they are.
    #[serde(default)]
    pub columns: BTreeMap<String, ColumnScale>,
    /// The part it was fitted on (`train`).
    #[serde(default)]
    pub fitted_on: String,
    /// None: `scaler: none`, nothing scaled.
    #[serde(default)]
    pub kind: Option<ScalerKind>,
}

impl Scaler {
    pub fn parse(bytes: &[u8]) -> Result<Scaler, ModelError> {
        serde_json::from_slice(bytes).map_err(|e| ModelError::new(format!("{SCALER} cannot be read: {e}")))
    }

    /// Whether it scales anything (a `split` with `scaler: none` writes one that does not).
    pub fn scales(&self) -> bool {
        self.kind.is_some()
    }
}

/// The outlier fences a `clean` step fitted (clip or drop): [`OUTLIER_FENCES`], each column's
/// `[low, high]`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct OutlierFences {
    pub columns: BTreeMap<String, (f64, f64)>,
}

impl OutlierFences {
    pub fn parse(bytes: &[u8]) -> Result<OutlierFences, ModelError> {
        serde_json::from_slice(bytes).map_err(|e| ModelError::new(format!("{OUTLIER_FENCES} cannot be read: {e}")))
    }
}

/// Fitted state a step hands down to the steps after it, under a file name of its own.
pub trait State: Sized {
    const FILE: &'static str;
    fn parse(bytes: &[u8]) -> Result<Self, ModelError>;
}

impl State for Scaler {
    const FILE: &'static str = SCALER;
    fn parse(bytes: &[u8]) -> Result<Self, ModelError> {
        Scaler::parse(bytes)
    }
}

impl State for OutlierFences {
    const FILE: &'static str = OUTLIER_FENCES;
    fn parse(bytes: &[u8]) -> Result<Self, ModelError> {
        OutlierFences::parse(bytes)
    }
}

/// What a `drift` step found (`drift_report.json`): the settings it judged by, the verdict,
/// and each feature's figures. Written by the step, drawn by the run report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct DriftReport {
    pub reference: String,
    pub current: String,
    /// Which figure decides a feature's drift: `ks`, `wasserstein` or `psi`.
    pub verdict: String,
    pub alpha: f64,
    pub correction: String,
    pub min_statistic: f64,
    pub psi_bins: usize,
    /// The share of features that drifted, and the share that makes dataset drift.
    pub share: f64,
    pub share_threshold: f64,
    pub dataset_drift: bool,
    pub features: Vec<FeatureDrift>,
}

/// One feature's drift figures (NaN, where a figure cannot be computed, is stored as null).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct FeatureDrift {
    pub feature: String,
    pub ks: Option<f64>,
    pub p: Option<f64>,
    pub p_corrected: Option<f64>,
    pub psi: Option<f64>,
    pub wasserstein_normed: Option<f64>,
    pub drifted: bool,
    pub reference_values: usize,
    pub current_values: usize,
    pub missing_dropped: usize,
}

impl DriftReport {
    pub const FILE: &'static str = "drift_report.json";

    pub fn parse(bytes: &[u8]) -> Result<DriftReport, ModelError> {
        serde_json::from_slice(bytes).map_err(|e| ModelError::new(format!("{} cannot be read: {e}", Self::FILE)))
    }
}

/// A state file as stored: pretty JSON.
pub fn to_json(state: &impl Serialize) -> Vec<u8> {
    serde_json::to_vec_pretty(state).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_files_read_back_as_written_before_they_were_typed() {
        // As `split` wrote `scaler.json` with `json!` (keys in name order).
        let old = br#"{"columns": {"t": {"offset": 1.5, "scale": 2.0}}, "fitted_on": "train", "kind": "standard"}"#;
        let scaler = Scaler::parse(old).unwrap();
        assert!(scaler.scales());
        let value: serde_json::Value = serde_json::from_slice(old).unwrap();
        assert_eq!(
            to_json(&scaler),
            serde_json::to_vec_pretty(&value).unwrap(),
            "same bytes"
        );
        let none = Scaler::parse(br#"{"columns": {}, "fitted_on": "train", "kind": null}"#).unwrap();
        assert!(!none.scales());
        let fences = OutlierFences::parse(br#"{"columns": {"t": [-1.0, 4.5]}}"#).unwrap();
        assert_eq!(fences.columns["t"], (-1.0, 4.5));
        assert!(OutlierFences::parse(br#"{"columns": {"t": [1.0]}}"#).is_err());
    }
}
