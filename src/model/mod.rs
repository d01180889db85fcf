//! The trained-model bundle: its card (architecture, features, scaler, threshold, baseline), the
//! windows it reads, the device it runs on, and scoring. Used by `train` and `evaluate` (and by
//! `register` and `predict` when they come), so training and serving cannot drift apart.
//! No storage, no registry: bytes in, scores out.

pub mod bundle;
pub mod card;
pub mod device;
pub mod formats;
pub mod importance;
pub mod scorer;
pub mod scoring;
pub mod user;
pub mod windows;

pub use bundle::ModelBundle;
pub use card::ModelCard;
pub use scorer::Scorer;

/// Why a model cannot be read or fed, as shown to the user (the step adds its id).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{0}")]
pub struct ModelError(pub String);

impl ModelError {
    pub fn new(message: impl Into<String>) -> Self {
        ModelError(message.into())
    }
}

impl From<polars::error::PolarsError> for ModelError {
    fn from(e: polars::error::PolarsError) -> Self {
        ModelError(format!("data error: {e}"))
    }
}
