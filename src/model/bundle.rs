//! A trained model as the files it is stored as: its card and its payload (a network's weights,
//! or a user's model folder packed as a zip). The only code that knows those files' names: the training step writes a bundle, `evaluate` and `predict` read
//! one, and the engine finds one among a run's outputs (`register`, `pmflow predict`) by asking
//! here which files make it. A new model kind (gradient boosting, a user's own) is a new card
//! format behind the same bundle, not a new set of file names across the crate.

use tch::Device;

use super::card::ModelCard;
use super::scorer::Scorer;
use super::scoring::TorchNetwork;
use super::user::{self, CommandScorer};
use super::ModelError;

/// The model card's file name (architecture, features, scaler, threshold, provenance).
pub const CARD: &str = "model_card.json";
/// The weights' file name (safetensors, the card also in its metadata).
pub const WEIGHTS: &str = "model.safetensors";
/// The training run's `load_report.json`, handed over beside a named model's files: the
/// columns and types the model's data had.
pub const TRAINING_LOAD_REPORT: &str = "training_load_report.json";

/// The files a trained model may be stored as: a payload (either kind's), then the card.
pub const FILES: [&str; 3] = [WEIGHTS, user::FILES, CARD];

/// The payload files, one per model kind: what a model version's `model_uri` points at.
pub const PAYLOADS: [&str; 2] = [WEIGHTS, user::FILES];

/// A trained model: its card, read and checked, and its payload's bytes.
pub struct ModelBundle {
    pub card: ModelCard,
    /// The network's weights (safetensors), or the user's model folder (zip).
    pub payload: Vec<u8>,
}

impl ModelBundle {
    /// The bundle among files found by name (`find(CARD)`, then the payload its card's format
    /// names); None when the card or the payload is not there (no model upstream), an error
    /// when the card cannot be read.
    pub fn find<'a>(find: impl Fn(&str) -> Option<&'a [u8]>) -> Result<Option<ModelBundle>, ModelError> {
        let Some(card) = find(CARD) else {
            return Ok(None);
        };
        let card = ModelCard::parse(card)?;
        let Some(payload) = find(payload_of(&card)) else {
            return Ok(None);
        };
        Ok(Some(ModelBundle {
            card,
            payload: payload.to_vec(),
        }))
    }

    /// The model ready to score on `device`: the kind its card names, behind [`Scorer`].
    pub fn scorer(self, device: Device) -> Result<Box<dyn Scorer>, ModelError> {
        if self.card.format == user::FORMAT {
            return Ok(Box::new(CommandScorer::unpack(self.card, &self.payload)?));
        }
        let network = TorchNetwork::load(self.card, &self.payload, device)
            .map_err(|e| ModelError::new(format!("{WEIGHTS}: {e}")))?;
        Ok(Box::new(network))
    }

    /// The files to store, by name: the payload, then the card (pretty JSON).
    pub fn files(&self) -> Result<Vec<(String, Vec<u8>)>, ModelError> {
        Ok(vec![
            (payload_of(&self.card).into(), self.payload.clone()),
            (CARD.into(), self.card_json()?),
        ])
    }

    /// The card as stored (also the weights' metadata, so the weights alone say what they are).
    pub fn card_json(&self) -> Result<Vec<u8>, ModelError> {
        card_json(&self.card)
    }
}

/// A card as its file holds it.
pub fn card_json(card: &ModelCard) -> Result<Vec<u8>, ModelError> {
    serde_json::to_vec_pretty(card).map_err(|e| ModelError::new(format!("the model card cannot be written: {e}")))
}

/// The payload file a card's model is stored with.
pub fn payload_of(card: &ModelCard) -> &'static str {
    match card.format.as_str() {
        user::FORMAT => user::FILES,
        _ => WEIGHTS,
    }
}

/// Whether `name` is one of a model's files.
pub fn is_model_file(name: &str) -> bool {
    FILES.contains(&name)
}
