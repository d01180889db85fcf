//! The window classifiers, one logit per window of rows:
//! - `lstm` / `gru`: a stacked LSTM or GRU -> last hidden state or attention pooling ->
//!   dropout -> linear head. Variable names follow PyTorch's `nn.LSTM` / `nn.GRU`
//!   (`lstm.weight_ih_l0`, ...) so weights can be compared with or moved to PyTorch;
//! - `linear`: the head alone on the window's last row (logistic regression, fitted by
//!   `ml::logistic`), so the baseline can ship through the same evaluate and predict path.
//!
//! A recurrent network may also have a `skip` path: a fixed linear layer from the window's last
//! row straight to the logit, added to the head's. Set to the fitted logistic regression with
//! the head at zero, the network begins as its baseline and learns only what the sequence
//! adds (see `train`).

use serde::{Deserialize, Serialize};
use tch::nn::{self, Module};
use tch::{Device, Kind, Tensor};

use super::lstm_cell;

/// Which network reads the windows.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ModelKind {
    #[default]
    Lstm,
    Gru,
    Linear,
}

impl ModelKind {
    pub const NAMES: [&'static str; 3] = ["lstm", "gru", "linear"];

    pub fn name(self) -> &'static str {
        Self::NAMES[self as usize]
    }

    pub fn parse(name: &str) -> Option<ModelKind> {
        [ModelKind::Lstm, ModelKind::Gru, ModelKind::Linear]
            .into_iter()
            .find(|k| k.name() == name)
    }

    /// Gate blocks per recurrent layer (PyTorch's order), none for the linear model.
    fn gates(self) -> i64 {
        match self {
            ModelKind::Lstm => 4,
            ModelKind::Gru => 3,
            ModelKind::Linear => 0,
        }
    }
}

/// The shape of the network; stored in the model card so it can be rebuilt.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct Architecture {
    /// Cards written before `model:` existed hold LSTMs.
    #[serde(default)]
    pub kind: ModelKind,
    pub features: i64,
    pub hidden: i64,
    pub layers: i64,
    pub dropout: f64,
    pub bidirectional: bool,
    pub attention: bool,
    /// A linear path from the last row to the logit (recurrent kinds); absent in older cards.
    #[serde(default)]
    pub skip: bool,
}

impl Architecture {
    fn directions(&self) -> i64 {
        if self.bidirectional {
            2
        } else {
            1
        }
    }
}

/// Where a batch of windows ends, as positions in the projected rows.
pub enum WindowEnds {
    /// `count` consecutive windows, the first ending at `first`.
    Run { first: i64, count: i64 },
    /// Anywhere: [batch] positions.
    At(Tensor),
}

#[derive(Debug)]
pub struct Classifier {
    arch: Architecture,
    /// Per layer and direction: w_ih, w_hh, b_ih, b_hh (the order `Tensor::lstm` and
    /// `Tensor::gru` expect); empty for the linear model.
    weights: Vec<Tensor>,
    attention: Option<nn::Linear>,
    head: nn::Linear,
    skip: Option<nn::Linear>,
}

impl Classifier {
    /// Creates the variables under `path`, initialised as PyTorch does: U(-1/sqrt(hidden),
    /// 1/sqrt(hidden)) for the LSTM and GRU, U(-1/sqrt(inputs), 1/sqrt(inputs)) for the
    /// linear layers.
    pub fn new(path: &nn::Path, arch: Architecture) -> Classifier {
        if arch.kind == ModelKind::Linear {
            let head = nn::linear(path / "head", arch.features, 1, torch_linear_init(arch.features));
            return Classifier {
                arch,
                weights: Vec::new(),
                attention: None,
                head,
                skip: None,
            };
        }
        let bound = 1.0 / (arch.hidden as f64).sqrt();
        let init = nn::Init::Uniform { lo: -bound, up: bound };
        let lstm = path / arch.kind.name();
        let gates = arch.kind.gates() * arch.hidden;
        let mut weights = Vec::new();
        for layer in 0..arch.layers {
            for direction in 0..arch.directions() {
                let input = if layer == 0 {
                    arch.features
                } else {
                    arch.hidden * arch.directions()
                };
                let suffix = if direction == 1 { "_reverse" } else { "" };
                weights.push(lstm.var(&format!("weight_ih_l{layer}{suffix}"), &[gates, input], init));
                weights.push(lstm.var(&format!("weight_hh_l{layer}{suffix}"), &[gates, arch.hidden], init));
                weights.push(lstm.var(&format!("bias_ih_l{layer}{suffix}"), &[gates], init));
                weights.push(lstm.var(&format!("bias_hh_l{layer}{suffix}"), &[gates], init));
            }
        }
        let pooled = arch.hidden * arch.directions();
        let attention = arch
            .attention
            .then(|| nn::linear(path / "attention", pooled, 1, torch_linear_init(pooled)));
        let head = nn::linear(path / "head", pooled, 1, torch_linear_init(pooled));
        // Not trained: the skip path stays the fitted regression, and the recurrent part
        // learns only what the sequence adds to it (training it too drifted away from the
        // regression's optimum and scored lower on validation).
        let skip = arch.skip.then(|| {
            let skip = path / "skip";
            nn::Linear {
                ws: skip.zeros_no_train("weight", &[1, arch.features]),
                bs: Some(skip.zeros_no_train("bias", &[1])),
            }
        });
        Classifier {
            arch,
            weights,
            attention,
            head,
            skip,
        }
    }

    /// Starts the network as the logistic regression `coef`, `intercept`. The linear model
    /// takes them in its head. A recurrent network with a skip path takes them there, and its
    /// head is zeroed, so every logit is the regression's until training moves it. False when
    /// the network has neither.
    pub fn start_from_linear(&self, coef: &[f64], intercept: f64) -> bool {
        let (target, zeroed) = match (&self.skip, self.arch.kind) {
            (_, ModelKind::Linear) => (&self.head, None),
            (Some(skip), _) => (skip, Some(&self.head)),
            (None, _) => return false,
        };
        let device = target.ws.device();
        let coef: Vec<f32> = coef.iter().map(|&c| c as f32).collect();
        tch::no_grad(|| {
            target
                .ws
                .shallow_clone()
                .copy_(&Tensor::from_slice(&coef).view([1, coef.len() as i64]).to_device(device));
            if let Some(bias) = &target.bs {
                let _ = bias.shallow_clone().fill_(intercept);
            }
            if let Some(head) = zeroed {
                let _ = head.ws.shallow_clone().zero_();
                if let Some(bias) = &head.bs {
                    let _ = bias.shallow_clone().zero_();
                }
            }
        });
        true
    }

    pub fn architecture(&self) -> &Architecture {
        &self.arch
    }

    /// Whether [`window_logits`](Self::window_logits) can score this network: a
    /// unidirectional LSTM whose weights are on the CPU (elsewhere `forward` is libtorch's
    /// fused kernel already).
    pub fn reads_projected_rows(&self) -> bool {
        self.arch.kind == ModelKind::Lstm
            && !self.arch.bidirectional
            && self.weights.first().is_some_and(|w| w.device() == Device::Cpu)
    }

    /// Logits for a batch of windows x [batch, seq, features]; `train` turns dropout on.
    pub fn forward(&self, x: &Tensor, train: bool) -> Tensor {
        let (batch, dirs, layers, hidden) = (x.size()[0], self.arch.directions(), self.arch.layers, self.arch.hidden);
        if self.arch.kind == ModelKind::Linear {
            return self.head.forward(&x.select(1, -1)).squeeze_dim(-1); // [batch]
        }
        let zeros = Tensor::zeros([layers * dirs, batch, hidden], (Kind::Float, x.device())); // [layers*dirs, batch, hidden]
        let weights: Vec<&Tensor> = self.weights.iter().collect();
        // Between stacked layers only, as in PyTorch.
        let dropout = if layers > 1 { self.arch.dropout } else { 0.0 };
        let (output, h_n) = if self.arch.kind == ModelKind::Gru {
            x.gru(
                &zeros,
                &weights,
                true,
                layers,
                dropout,
                train,
                self.arch.bidirectional,
                true,
            )
        } else {
            let (output, h_n, _c_n) = x.lstm(
                &[&zeros, &zeros],
                &weights,
                true,
                layers,
                dropout,
                train,
                self.arch.bidirectional,
                true,
            );
            (output, h_n)
        }; // output: [batch, seq, hidden*dirs]; h_n: [layers*dirs, batch, hidden]
           // The final state of the top layer in each direction (the backward direction's final
           // state has read the whole window, unlike output[:, -1]).
        let top = h_n.narrow(0, (layers - 1) * dirs, dirs); // [dirs, batch, hidden]
        let last = top.permute([1, 0, 2]).reshape([batch, dirs * hidden]); // [batch, hidden*dirs]
        self.logits(&output, last, &x.select(1, -1), train)
    }

    /// The head over the top layer: attention pooling of `output` [batch, seq, hidden*dirs] or
    /// the final states `last` [batch, hidden*dirs], then dropout and the linear layer, plus
    /// the skip path on each window's last row `rows` [batch, features].
    fn logits(&self, output: &Tensor, last: Tensor, rows: &Tensor, train: bool) -> Tensor {
        let pooled = match &self.attention {
            Some(score) => {
                let weights = score.forward(output).softmax(1, Kind::Float); // [batch, seq, 1]
                (output * weights).sum_dim_intlist(1, false, Kind::Float) // [batch, hidden*dirs]
            }
            None => last,
        };
        let pooled = pooled.dropout(self.arch.dropout, train); // [batch, hidden*dirs]
        let logits = self.head.forward(&pooled).squeeze_dim(-1); // [batch]
        match &self.skip {
            Some(skip) => logits + skip.forward(rows).squeeze_dim(-1),
            None => logits,
        }
    }

    /// Inference logits for windows of `window` consecutive rows ending at `ends` (positions in
    /// `projected`), without building the windows. Every row sits in `window` windows, so
    /// the first layer's input projection (x W_ih + b_ih + b_hh) is computed once per row and
    /// each window's recurrence reads its rows' projections; each step is one matrix product
    /// (h W_hh^T) and one fused pass over the gates ([`lstm_cell::step`]), where libtorch takes
    /// ten calls. The same arithmetic as [`forward`](Self::forward) in another order (equal to
    /// about 1e-6). `projected` is [`project_rows`](Self::project_rows) of `rows`, the rows
    /// the windows read. Unidirectional LSTMs on the CPU only (see
    /// [`reads_projected_rows`](Self::reads_projected_rows)).
    pub fn window_logits(&self, rows: &Tensor, projected: &Tensor, ends: &WindowEnds, window: i64) -> Tensor {
        let hidden = self.arch.hidden;
        let (batch, ends_rows) = match ends {
            WindowEnds::Run { first, count } => (*count, rows.narrow(0, *first, *count)),
            WindowEnds::At(ends) => (ends.size()[0], rows.index_select(0, ends)),
        }; // ends_rows: [batch, features], what the skip path reads
        let w_hh = self.weights[1].transpose(0, 1); // [hidden, 4*hidden]
        let collect = self.arch.layers > 1 || self.attention.is_some();
        let options = (Kind::Float, Device::Cpu);
        let mut h = Tensor::zeros([batch, hidden], options); // [batch, hidden]
        let mut c = vec![0f32; (batch * hidden) as usize]; // [batch, hidden]
        let product = Tensor::empty([batch, 4 * hidden], options); // [batch, 4*hidden]: h W_hh^T
        let mut outputs = Vec::new();
        for t in 0..window {
            let back = window - 1 - t;
            let step_rows = match ends {
                // Consecutive windows read consecutive rows at each step: a view, no copy.
                WindowEnds::Run { first, count } => projected.narrow(0, first - back, *count),
                WindowEnds::At(ends) => projected.index_select(0, &(ends - back)),
            }
            .contiguous(); // [batch, 4*hidden]
                           // h and c start at zero: the first step has no recurrent product.
            if t > 0 {
                let _ = h.mm_out(&product, &w_hh);
            }
            let recurrent = (t > 0).then(|| f32_values(&product));
            lstm_cell::step(
                f32_values(&step_rows),
                recurrent,
                &mut c,
                f32_values_mut(&mut h),
                hidden as usize,
            );
            if collect {
                outputs.push(h.copy()); // h is overwritten in place by the next step
            }
        }
        if !collect {
            return self.logits(&h, h.shallow_clone(), &ends_rows, false);
        }
        let first = Tensor::stack(&outputs, 1); // [batch, seq, hidden]
        if self.arch.layers == 1 {
            return self.logits(&first, h, &ends_rows, false);
        }
        // The layers above the first take its outputs as ordinary sequences.
        let above = self.arch.layers - 1;
        let zeros = Tensor::zeros([above, batch, hidden], options); // [layers-1, batch, hidden]
        let (output, h_n, _c_n) = first.lstm(
            &[&zeros, &zeros],
            &self.weights[4..].iter().collect::<Vec<_>>(),
            true,
            above,
            0.0,
            false,
            false,
            true,
        ); // output: [batch, seq, hidden]; h_n: [layers-1, batch, hidden]
        let last = h_n.get(above - 1); // [batch, hidden]
        self.logits(&output, last, &ends_rows, false)
    }

    /// Another handle on the same weights (no copy), for a scoring thread: libtorch tensors
    /// may be read from several threads, but a handle belongs to one.
    pub fn shallow_copy(&self) -> Classifier {
        let linear = |l: &nn::Linear| nn::Linear {
            ws: l.ws.shallow_clone(),
            bs: l.bs.as_ref().map(Tensor::shallow_clone),
        };
        Classifier {
            arch: self.arch.clone(),
            weights: self.weights.iter().map(Tensor::shallow_clone).collect(),
            attention: self.attention.as_ref().map(linear),
            head: linear(&self.head),
            skip: self.skip.as_ref().map(linear),
        }
    }

    /// The first layer's input projection of every row, biases included: [rows, 4*hidden].
    pub fn project_rows(&self, rows: &Tensor) -> Tensor {
        let bias = &self.weights[2] + &self.weights[3]; // [4*hidden]
        bias.addmm(rows, &self.weights[0].transpose(0, 1))
    }
}

/// The values of a contiguous f32 tensor on the CPU, read in place.
fn f32_values(t: &Tensor) -> &[f32] {
    assert!(
        t.kind() == Kind::Float && t.device() == Device::Cpu && t.is_contiguous(),
        "f32_values: a contiguous f32 CPU tensor"
    );
    // SAFETY: such a tensor holds numel() f32 values from data_ptr() (its storage offset
    // included); the slice borrows `t`, which keeps that storage alive.
    unsafe { std::slice::from_raw_parts(t.data_ptr() as *const f32, t.numel()) }
}

/// As [`f32_values`], writable: `t` must own its storage alone (no view of it is read while the
/// slice lives).
fn f32_values_mut(t: &mut Tensor) -> &mut [f32] {
    assert!(
        t.kind() == Kind::Float && t.device() == Device::Cpu && t.is_contiguous(),
        "f32_values_mut: a contiguous f32 CPU tensor"
    );
    // SAFETY: as in f32_values; the exclusive borrow of `t` stands for its storage.
    unsafe { std::slice::from_raw_parts_mut(t.data_ptr() as *mut f32, t.numel()) }
}

/// PyTorch's `nn.Linear` initialisation (Kaiming-uniform with a = sqrt(5), which comes down to
/// U(-1/sqrt(inputs), 1/sqrt(inputs)) for weights and bias). tch's default uses the ReLU gain,
/// a 2.4x wider range, which made the head start far from PyTorch's.
fn torch_linear_init(inputs: i64) -> nn::LinearConfig {
    let bound = 1.0 / (inputs as f64).sqrt();
    nn::LinearConfig {
        ws_init: nn::Init::Uniform { lo: -bound, up: bound },
        bs_init: Some(nn::Init::Uniform { lo: -bound, up: bound }),
        bias: true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn arch(bidirectional: bool, attention: bool) -> Architecture {
        Architecture {
            kind: ModelKind::Lstm,
            features: 3,
            hidden: 8,
            layers: 2,
            dropout: 0.1,
            bidirectional,
            attention,
            skip: false,
        }
    }

    #[test]
    fn one_logit_per_window_in_every_variant() {
        for kind in [ModelKind::Lstm, ModelKind::Gru, ModelKind::Linear] {
            for (bi, att) in [(false, false), (true, false), (false, true), (true, true)] {
                let vs = nn::VarStore::new(tch::Device::Cpu);
                let model = Classifier::new(&vs.root(), Architecture { kind, ..arch(bi, att) });
                let x = Tensor::randn([5, 7, 3], (Kind::Float, tch::Device::Cpu)); // [batch, seq, features]
                assert_eq!(model.forward(&x, true).size(), vec![5], "{kind:?}");
                assert_eq!(model.forward(&x, false).size(), vec![5], "{kind:?}");
            }
        }
    }

    #[test]
    fn the_linear_model_reads_the_last_row_only() {
        let vs = nn::VarStore::new(tch::Device::Cpu);
        let model = Classifier::new(
            &vs.root(),
            Architecture {
                kind: ModelKind::Linear,
                ..arch(false, false)
            },
        );
        let x = Tensor::randn([4, 6, 3], (Kind::Float, tch::Device::Cpu)); // [batch, seq, features]
        let earlier = x.copy();
        let _ = earlier.narrow(1, 0, 5).fill_(7.0);
        assert!(model
            .forward(&x, false)
            .allclose(&model.forward(&earlier, false), 1e-6, 1e-6, false));
        let names: Vec<String> = vs.variables().into_keys().collect();
        assert_eq!(names.len(), 2, "{names:?}");
    }

    #[test]
    fn variables_are_named_like_pytorch() {
        let vs = nn::VarStore::new(tch::Device::Cpu);
        let _ = Classifier::new(&vs.root(), arch(true, false));
        let mut names: Vec<String> = vs.variables().into_keys().collect();
        names.sort();
        assert!(names.contains(&"lstm.weight_ih_l1_reverse".to_string()), "{names:?}");
        assert!(names.contains(&"head.weight".to_string()));
        // 2 layers x 2 directions x 4 tensors + head weight and bias.
        assert_eq!(names.len(), 18);
        // nn.GRU: three gate blocks, under `gru`.
        let vs = nn::VarStore::new(tch::Device::Cpu);
        let _ = Classifier::new(
            &vs.root(),
            Architecture {
                kind: ModelKind::Gru,
                ..arch(false, false)
            },
        );
        let variables = vs.variables();
        assert_eq!(variables["gru.weight_ih_l0"].size(), vec![3 * 8, 3]);
        assert_eq!(variables["gru.weight_hh_l1"].size(), vec![3 * 8, 8]);
    }

    #[test]
    fn a_network_started_from_a_regression_scores_as_it() {
        let vs = nn::VarStore::new(tch::Device::Cpu);
        let model = Classifier::new(
            &vs.root(),
            Architecture {
                skip: true,
                ..arch(false, true)
            },
        );
        assert!(model.start_from_linear(&[0.5, -1.0, 2.0], 0.25));
        let x = Tensor::randn([4, 6, 3], (Kind::Float, tch::Device::Cpu)); // [batch, seq, features]
        let want = x.select(1, -1).mv(&Tensor::from_slice(&[0.5f32, -1.0, 2.0])) + 0.25; // [batch]
        assert!(model.forward(&x, true).allclose(&want, 1e-5, 1e-5, false));
        // The skip path is saved with the rest but never trained.
        assert!(vs.variables().contains_key("skip.weight"));
        assert_eq!(vs.trainable_variables().len() + 2, vs.variables().len());
        let vs = nn::VarStore::new(tch::Device::Cpu);
        assert!(!Classifier::new(&vs.root(), arch(false, false)).start_from_linear(&[1.0; 3], 0.0));
    }
}
