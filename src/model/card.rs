//! The model card: everything needed to serve a trained model with exactly the training-time
//! inputs (architecture, window, feature order, scaler, threshold) and to trace where it came
//! from (data digests, seed, pmflow version). Stored in a [`super::ModelBundle`].

use serde::{Deserialize, Serialize};

use super::ModelError;
use crate::ml::logistic::Logistic;
use crate::ml::network::Architecture;
use crate::ml::training::EpochStats;

/// The card format of a libtorch network (LSTM, GRU, linear).
pub const FORMAT: &str = "pmflow-lstm/1";
/// The card format of a user's model, scored by its own command ([`super::user`]).
pub const USER_FORMAT: &str = "pmflow-command/1";

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct ModelCard {
    pub format: String,
    /// The network (LSTM, GRU, linear); None for a user's model.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub architecture: Option<Architecture>,
    /// A user's model: the command that scores it, run in its unpacked folder
    /// ([`super::user`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub score: Option<Vec<String>>,
    /// Time steps per input window (1 = tabular rows).
    pub window: usize,
    /// Feature columns in the order the network reads them.
    pub features: Vec<String>,
    pub label: String,
    pub entity: Option<String>,
    pub timestamp: Option<String>,
    /// Alarm when the predicted probability is >= this.
    pub threshold: f64,
    /// How the threshold was chosen on validation (`max-f1` or `false-alarm-rate<=R`).
    pub threshold_rule: String,
    /// How `feature` made each column from raw sensor data, if a `feature` step ran upstream.
    pub feature_manifest: Option<serde_json::Value>,
    /// The scaler `split` fitted on train (apply it to new data before the model), if any.
    pub scaler: Option<super::formats::Scaler>,
    /// sha256 of every input the step read, as `step/name`.
    pub training_data: Vec<(String, String)>,
    pub seed: u64,
    pub pmflow_version: String,
    /// How the network trained; None for a user's model (its program logs what it wants).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub training: Option<Training>,
    /// The logistic regression fitted beside the model on the same windows' last rows, to
    /// measure it against; absent in cards written before it existed.
    #[serde(default)]
    pub baseline: Option<Baseline>,
}

/// The baseline of a model card: a logistic regression with its own validation threshold.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct Baseline {
    pub model: Logistic,
    /// Chosen on validation by the model's own threshold rule.
    pub threshold: f64,
    pub val_pr_auc: f64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct Training {
    pub epochs: usize,
    pub best_epoch: usize,
    pub stopped_early: bool,
    pub batch_size: usize,
    pub lr: f64,
    pub pos_weight: Option<f64>,
    pub train_windows: usize,
    pub val_windows: usize,
    pub history: Vec<EpochStats>,
}

impl ModelCard {
    pub fn parse(bytes: &[u8]) -> Result<ModelCard, ModelError> {
        let card: ModelCard =
            serde_json::from_slice(bytes).map_err(|e| ModelError::new(format!("the model card is not valid: {e}")))?;
        let readable = match card.format.as_str() {
            FORMAT => card.architecture.is_some() && card.training.is_some(),
            USER_FORMAT => card.score.is_some(),
            _ => false,
        };
        if !readable {
            return Err(ModelError::new(format!(
                "the model card has format `{}`; this pmflow reads `{FORMAT}` and `{}`",
                card.format, USER_FORMAT
            )));
        }
        Ok(card)
    }

    /// What kind of model this is, for people: `lstm`, `gru`, `linear`, or `command`.
    pub fn model_name(&self) -> &'static str {
        match &self.architecture {
            Some(architecture) => architecture.kind.name(),
            None => "command",
        }
    }
}
