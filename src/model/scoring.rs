//! A trained model made ready to score: its card and weights loaded onto a device.

use tch::{nn, Device};

use super::bundle::WEIGHTS;
use super::card::ModelCard;
use super::ModelError;
use crate::ml::network::Classifier;
use crate::ml::training::{predict_windows, WindowSet};
use crate::ml::weights::load_safetensors;

/// The network of a model card with its weights loaded; the var store must outlive the network.
pub struct TrainedModel {
    pub card: ModelCard,
    network: Classifier,
    _vars: nn::VarStore,
}

impl TrainedModel {
    /// Builds the card's architecture on `device` and loads `weights` (safetensors) into it.
    pub fn load(card: ModelCard, weights: &[u8], device: Device) -> Result<TrainedModel, ModelError> {
        let vars = nn::VarStore::new(device);
        let network = Classifier::new(&vars.root(), card.architecture.clone());
        load_safetensors(&vars, weights).map_err(|e| ModelError::new(format!("{WEIGHTS}: {e}")))?;
        Ok(TrainedModel {
            card,
            network,
            _vars: vars,
        })
    }

    /// The failure probability of every window, in window order.
    pub fn score(&self, windows: &WindowSet, batch_size: usize) -> Vec<f64> {
        predict_windows(&self.network, windows, batch_size)
    }
}
