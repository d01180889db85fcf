//! What every trained model offers the steps that use it: its card and the failure
//! probability of prepared windows. `evaluate` and `predict` (and next `serve`) score through
//! this trait, so a new model kind implements it once and they stay as they are.

use tch::Device;

use super::bundle::ModelBundle;
use super::card::ModelCard;
use super::scoring::TorchNetwork;
use super::ModelError;
use crate::ml::training::WindowSet;

pub trait Scorer {
    /// The card the model was trained with (features, window, scaler, threshold).
    fn card(&self) -> &ModelCard;
    /// The failure probability of every window, in window order, `batch_size` at a time.
    fn score(&self, windows: &WindowSet, batch_size: usize) -> Vec<f64>;
}

impl ModelBundle {
    /// The model ready to score on `device`: the kind its card names, behind [`Scorer`].
    pub fn scorer(self, device: Device) -> Result<Box<dyn Scorer>, ModelError> {
        // One kind today (a libtorch network: LSTM, GRU or linear); the card's `format` is
        // where a second kind is told apart.
        Ok(Box::new(TorchNetwork::load(self.card, &self.weights, device)?))
    }
}
