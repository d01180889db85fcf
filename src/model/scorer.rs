//! What every trained model offers the steps that use it: its card and the failure
//! probability of prepared windows. `evaluate` and `predict` (and next `serve`) score through
//! this trait, so a new model kind implements it once and they stay as they are; the bundle
//! ([`super::ModelBundle::scorer`]) picks the implementation a card names.

use super::card::ModelCard;
use super::ModelError;
use crate::ml::training::WindowSet;

pub trait Scorer {
    /// The card the model was trained with (features, window, scaler, threshold).
    fn card(&self) -> &ModelCard;
    /// The failure probability of every window, in window order, `batch_size` at a time.
    /// A model run as a program can fail; a network cannot.
    fn score(&self, windows: &WindowSet, batch_size: usize) -> Result<Vec<f64>, ModelError>;
}
