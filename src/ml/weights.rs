//! Model weights as safetensors bytes (the format PyTorch, candle and burn all read), with the
//! model card in the file's metadata too, so a weights file on its own still says what it is.

use std::collections::HashMap;

use safetensors::tensor::{Dtype, SafeTensors, TensorView};
use tch::{nn::VarStore, Device, Kind, Tensor};

/// Why weights cannot be written or read back.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{0}")]
pub struct WeightsError(pub String);

/// Every variable of `vs` as little-endian f32, sorted by name.
pub fn to_safetensors(vs: &VarStore, metadata: HashMap<String, String>) -> Result<Vec<u8>, WeightsError> {
    let mut named: Vec<(String, Vec<usize>, Vec<u8>)> = Vec::new();
    for (name, tensor) in vs.variables() {
        let shape: Vec<usize> = tensor.size().iter().map(|d| *d as usize).collect();
        let flat = tensor
            .detach()
            .to_device(Device::Cpu)
            .to_kind(Kind::Float)
            .flatten(0, -1);
        let values = Vec::<f32>::try_from(&flat).map_err(|e| WeightsError(format!("cannot read `{name}`: {e}")))?;
        let bytes = values.iter().flat_map(|v| v.to_le_bytes()).collect();
        named.push((name, shape, bytes));
    }
    named.sort_by(|a, b| a.0.cmp(&b.0));
    let mut views = Vec::with_capacity(named.len());
    for (name, shape, bytes) in &named {
        let view =
            TensorView::new(Dtype::F32, shape.clone(), bytes).map_err(|e| WeightsError(format!("`{name}`: {e:?}")))?;
        views.push((name.as_str(), view));
    }
    safetensors::tensor::serialize(views, &Some(metadata))
        .map_err(|e| WeightsError(format!("cannot encode weights: {e:?}")))
}

/// Copies weights into the variables of `vs`; every variable must be present with its shape.
pub fn load_safetensors(vs: &VarStore, bytes: &[u8]) -> Result<(), WeightsError> {
    let file = SafeTensors::deserialize(bytes).map_err(|e| WeightsError(format!("not a safetensors file: {e:?}")))?;
    let device = vs.device();
    for (name, var) in vs.variables() {
        let view = file.tensor(&name).map_err(|_| {
            WeightsError(format!(
                "the weights have no tensor `{name}`: they belong to another architecture"
            ))
        })?;
        let expected: Vec<usize> = var.size().iter().map(|d| *d as usize).collect();
        if view.dtype() != Dtype::F32 || view.shape() != expected.as_slice() {
            return Err(WeightsError(format!(
                "tensor `{name}` is {:?} {:?}, the model expects F32 {expected:?}",
                view.dtype(),
                view.shape()
            )));
        }
        let values: Vec<f32> = view
            .data()
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect();
        let shape: Vec<i64> = expected.iter().map(|d| *d as i64).collect();
        let loaded = Tensor::from_slice(&values).view(shape.as_slice()).to_device(device);
        tch::no_grad(|| var.shallow_clone().copy_(&loaded));
    }
    Ok(())
}

/// The metadata map stored beside the tensors.
pub fn metadata(bytes: &[u8]) -> Result<HashMap<String, String>, WeightsError> {
    let (_, meta) =
        SafeTensors::read_metadata(bytes).map_err(|e| WeightsError(format!("not a safetensors file: {e:?}")))?;
    Ok(meta.metadata().clone().unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ml::network::{Architecture, Classifier, ModelKind};

    fn model() -> (VarStore, Classifier) {
        let vs = VarStore::new(Device::Cpu);
        let arch = Architecture {
            kind: ModelKind::Lstm,
            features: 3,
            hidden: 4,
            layers: 2,
            dropout: 0.0,
            bidirectional: true,
            attention: true,
            skip: false,
        };
        let m = Classifier::new(&vs.root(), arch);
        (vs, m)
    }

    #[test]
    fn round_trip_gives_the_same_predictions() {
        let (a, model_a) = model();
        let bytes = to_safetensors(&a, HashMap::from([("card".to_string(), "{}".to_string())])).unwrap();
        let (b, model_b) = model();
        load_safetensors(&b, &bytes).unwrap();
        let x = Tensor::randn([2, 5, 3], (Kind::Float, Device::Cpu)); // [batch, seq, features]
        let (ya, yb) = (model_a.forward(&x, false), model_b.forward(&x, false));
        assert_eq!(Vec::<f32>::try_from(&ya).unwrap(), Vec::<f32>::try_from(&yb).unwrap());
        assert_eq!(metadata(&bytes).unwrap()["card"], "{}");
    }

    #[test]
    fn mismatched_or_broken_files_are_errors() {
        let (a, _) = model();
        let bytes = to_safetensors(&a, HashMap::new()).unwrap();
        let other = VarStore::new(Device::Cpu);
        let _ = Classifier::new(
            &other.root(),
            Architecture {
                kind: ModelKind::Lstm,
                features: 5,
                hidden: 4,
                layers: 2,
                dropout: 0.0,
                bidirectional: true,
                attention: true,
                skip: false,
            },
        );
        assert!(load_safetensors(&other, &bytes)
            .unwrap_err()
            .0
            .contains("the model expects F32"));
        assert!(load_safetensors(&other, b"garbage")
            .unwrap_err()
            .0
            .contains("not a safetensors file"));
    }
}
