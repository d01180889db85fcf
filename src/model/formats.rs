//! The names of the fitted state a pipeline's steps hand down and a model carries with it: what
//! new data must be prepared with before a model sees it. One place names them, so the step
//! that writes a file and the code that reads it back cannot disagree.

/// The outlier fences a `clean` step fitted (clip or drop), as `{"columns": {NAME: [low, high]}}`.
pub const OUTLIER_FENCES: &str = "outlier_fences.json";
/// The scaler `split` fitted on the train part.
pub const SCALER: &str = "scaler.json";
/// How `feature` made each column from raw sensor data.
pub const FEATURE_MANIFEST: &str = "feature_manifest.json";
