//! A libtorch network made ready to score (the [`super::scorer::Scorer`] of LSTM, GRU and linear
//! models): its card and weights loaded onto a device.

use tch::{nn, Device};

use super::card::ModelCard;
use super::ModelError;
use crate::ml::network::Classifier;
use crate::ml::training::{predict_windows, WindowSet};
use crate::ml::weights::load_safetensors;

/// The network of a model card with its weights loaded; the var store must outlive the network.
pub struct TorchNetwork {
    pub card: ModelCard,
    network: Classifier,
    _vars: nn::VarStore,
}

impl TorchNetwork {
    /// Builds the card's architecture on `device` and loads `weights` (safetensors) into it; the
    /// error says what is wrong with the weights (the caller names the file).
    pub fn load(card: ModelCard, weights: &[u8], device: Device) -> Result<TorchNetwork, ModelError> {
        let vars = nn::VarStore::new(device);
        let architecture = card
            .architecture
            .clone()
            .ok_or_else(|| ModelError::new("the model card names no network architecture"))?;
        let network = Classifier::new(&vars.root(), architecture);
        load_safetensors(&vars, weights).map_err(|e| ModelError::new(e.to_string()))?;
        Ok(TorchNetwork {
            card,
            network,
            _vars: vars,
        })
    }
}

impl super::scorer::Scorer for TorchNetwork {
    fn card(&self) -> &ModelCard {
        &self.card
    }

    fn score(&self, windows: &WindowSet, batch_size: usize) -> Result<Vec<f64>, ModelError> {
        Ok(predict_windows(&self.network, windows, batch_size))
    }
}
