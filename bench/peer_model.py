"""pmflow's window classifier (src/ml/network.rs) for the Python peers, in two forms:

- `classifier(arch)`: a PyTorch `nn.Module` with pmflow's variable names, so
  `load_state_dict(read_safetensors(...), strict=True)` loads a trained model.safetensors as is;
  bench/predict_torch.py scores with it and bench/quality_torch.py trains it.
- `reference_logits(arch, weights, windows)`: the same arithmetic in plain Python (no torch, no
  numpy), slow but readable; tests/cli/bench_peers.rs runs it with any python3 against the
  scores of the real binary, and `check(model, weights)` runs it against the torch module.

`parameter_shapes(arch)` is the contract between the three: the exact names and shapes pmflow
saves. A change to pmflow's network (a new path, a renamed variable) fails that test until this
file follows it.

The network (arch = the model card's `architecture`):
  kind lstm | gru: stacked recurrent layers (PyTorch's nn.LSTM / nn.GRU, batch first, dropout
  between layers when training), optionally bidirectional -> the top layer's final state of each
  direction, or attention pooling over its outputs -> dropout -> head (linear, one logit)
  + skip (a linear layer on the window's last row, when arch.skip);
  kind linear: the head alone on the window's last row.
"""
import json
import math
import struct
from pathlib import Path


def _gates(kind):
    return {"lstm": 4, "gru": 3}[kind]


def parameter_shapes(arch):
    """name -> shape of every variable pmflow saves for `arch`."""
    kind, features, hidden = arch.get("kind", "lstm"), arch["features"], arch["hidden"]
    if kind == "linear":
        return {"head.weight": [1, features], "head.bias": [1]}
    dirs = 2 if arch["bidirectional"] else 1
    shapes = {}
    for layer in range(arch["layers"]):
        inputs = features if layer == 0 else hidden * dirs
        for suffix in ["", "_reverse"][:dirs]:
            rows = _gates(kind) * hidden
            shapes[f"{kind}.weight_ih_l{layer}{suffix}"] = [rows, inputs]
            shapes[f"{kind}.weight_hh_l{layer}{suffix}"] = [rows, hidden]
            shapes[f"{kind}.bias_ih_l{layer}{suffix}"] = [rows]
            shapes[f"{kind}.bias_hh_l{layer}{suffix}"] = [rows]
    if arch["attention"]:
        shapes["attention.weight"] = [1, hidden * dirs]
        shapes["attention.bias"] = [1]
    shapes["head.weight"] = [1, hidden * dirs]
    shapes["head.bias"] = [1]
    if arch.get("skip", False):
        shapes["skip.weight"] = [1, features]
        shapes["skip.bias"] = [1]
    return shapes


def safetensors_header(path):
    """name -> {dtype, shape, data_offsets} of a safetensors file, and where its data starts."""
    raw = Path(path).read_bytes()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8 : 8 + n])
    header.pop("__metadata__", None)
    return header, raw, 8 + n


def read_lists(path):
    """name -> (shape, flat list of floats) from a safetensors file of F32 / F64 tensors."""
    header, raw, start = safetensors_header(path)
    out = {}
    for name, info in header.items():
        begin, end = info["data_offsets"]
        code = {"F32": "f", "F64": "d"}[info["dtype"]]
        count = (end - begin) // struct.calcsize(code)
        out[name] = (info["shape"], list(struct.unpack(f"<{count}{code}", raw[start + begin : start + end])))
    return out


def read_safetensors(path):
    """name -> float32 torch tensor from a safetensors file (no safetensors package needed)."""
    import torch

    header, raw, start = safetensors_header(path)
    data = bytearray(raw[start:])
    out = {}
    for name, info in header.items():
        begin, end = info["data_offsets"]
        dtype = {"F32": torch.float32, "F64": torch.float64, "F16": torch.float16}[info["dtype"]]
        values = torch.frombuffer(data, dtype=dtype, count=(end - begin) // dtype.itemsize, offset=begin)
        out[name] = values.to(torch.float32).reshape(info["shape"]).clone()
    return out


def classifier(arch):
    """A torch nn.Module of `arch` whose state_dict has exactly `parameter_shapes(arch)`."""
    import torch
    from torch import nn

    kind, features, hidden = arch.get("kind", "lstm"), arch["features"], arch["hidden"]
    dirs = 2 if arch["bidirectional"] else 1
    layers, dropout = arch["layers"], arch["dropout"]

    class Classifier(nn.Module):
        def __init__(self):
            super().__init__()
            pooled = hidden * dirs
            if kind != "linear":
                rnn = {"lstm": nn.LSTM, "gru": nn.GRU}[kind]
                # Dropout between stacked layers only, as PyTorch (and pmflow) apply it.
                setattr(self, kind, rnn(features, hidden, layers, batch_first=True, bidirectional=dirs == 2,
                                        dropout=dropout if layers > 1 else 0.0))
                self.attention = nn.Linear(pooled, 1) if arch["attention"] else None
            self.drop = nn.Dropout(dropout)
            self.head = nn.Linear(features if kind == "linear" else pooled, 1)
            # Never trained: pmflow sets it to the fitted logistic regression (start_from_linear).
            self.skip = nn.Linear(features, 1) if arch.get("skip", False) and kind != "linear" else None
            if self.skip is not None:
                self.skip.requires_grad_(False)

        def forward(self, x):  # x: [batch, window, features]
            last_row = x[:, -1]  # [batch, features]
            if kind == "linear":
                return self.head(last_row).squeeze(-1)  # [batch]
            output, state = getattr(self, kind)(x)  # output: [batch, window, hidden * dirs]
            h_n = state[0] if kind == "lstm" else state  # [layers * dirs, batch, hidden]
            if self.attention is not None:
                weights = torch.softmax(self.attention(output), dim=1)  # [batch, window, 1]
                pooled = (output * weights).sum(1)  # [batch, hidden * dirs]
            else:
                pooled = h_n[-dirs:].permute(1, 0, 2).reshape(x.shape[0], -1)  # [batch, hidden * dirs]
            logits = self.head(self.drop(pooled)).squeeze(-1)  # [batch]
            if self.skip is not None:
                logits = logits + self.skip(last_row).squeeze(-1)
            return logits

    model = Classifier()
    got = {k: list(v.shape) for k, v in model.state_dict().items()}
    if got != parameter_shapes(arch):
        raise AssertionError(f"peer_model.classifier and parameter_shapes disagree: {got} vs {parameter_shapes(arch)}")
    return model


def start_from_linear(model, coef, intercept):
    """pmflow's start (Classifier::start_from_linear): the skip path (or a linear model's head)
    takes the regression, a recurrent head is zeroed, so every logit is the regression's."""
    import torch

    target = model.skip if model.skip is not None else model.head
    with torch.no_grad():
        target.weight.copy_(torch.tensor([list(coef)], dtype=torch.float32))
        target.bias.fill_(float(intercept))
        if model.skip is not None:
            model.head.weight.zero_()
            model.head.bias.zero_()


# --- the same network in plain Python -------------------------------------------------------


def _sigmoid(x):
    return 1.0 / (1.0 + math.exp(-x)) if x >= 0 else math.exp(x) / (1.0 + math.exp(x))


def _affine(weight, bias, x, rows, cols):
    """weight [rows, cols] (flat) @ x [cols] + bias [rows]."""
    return [bias[r] + sum(weight[r * cols + c] * x[c] for c in range(cols)) for r in range(rows)]


def _direction(kind, w, prefix, sequence, hidden):
    """Outputs (one hidden state per step) of one direction of one layer over `sequence`."""
    w_ih, w_hh, b_ih, b_hh = (w[f"{prefix}.{n}"] for n in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"))
    inputs = len(sequence[0])
    rows = _gates(kind) * hidden
    h, c = [0.0] * hidden, [0.0] * hidden
    outputs = []
    for x in sequence:
        a = _affine(w_ih[1], b_ih[1], x, rows, inputs)
        b = _affine(w_hh[1], b_hh[1], h, rows, hidden)
        if kind == "lstm":  # gates in PyTorch's order: input, forget, cell, output
            g = [a[k] + b[k] for k in range(rows)]
            i = [_sigmoid(v) for v in g[:hidden]]
            f = [_sigmoid(v) for v in g[hidden : 2 * hidden]]
            cell = [math.tanh(v) for v in g[2 * hidden : 3 * hidden]]
            o = [_sigmoid(v) for v in g[3 * hidden :]]
            c = [f[k] * c[k] + i[k] * cell[k] for k in range(hidden)]
            h = [o[k] * math.tanh(c[k]) for k in range(hidden)]
        else:  # GRU: reset, update, new; the reset gate scales the recurrent part of `new`
            r = [_sigmoid(a[k] + b[k]) for k in range(hidden)]
            z = [_sigmoid(a[hidden + k] + b[hidden + k]) for k in range(hidden)]
            n = [math.tanh(a[2 * hidden + k] + r[k] * b[2 * hidden + k]) for k in range(hidden)]
            h = [(1 - z[k]) * n[k] + z[k] * h[k] for k in range(hidden)]
        outputs.append(h)
    return outputs


def reference_logits(arch, weights, windows):
    """One logit per window; `weights` as `read_lists` gives them, each window a list of rows
    (lists of the card's features, scaled), oldest first. Inference: no dropout."""
    kind, features, hidden = arch.get("kind", "lstm"), arch["features"], arch["hidden"]
    head_w, head_b = weights["head.weight"][1], weights["head.bias"][1]
    logits = []
    for window in windows:
        last_row = window[-1]
        if kind == "linear":
            logits.append(_affine(head_w, head_b, last_row, 1, features)[0])
            continue
        sequence, finals = window, []
        for layer in range(arch["layers"]):
            forward = _direction(kind, _layer(weights, kind, layer, ""), "w", sequence, hidden)
            if arch["bidirectional"]:
                backward = _direction(kind, _layer(weights, kind, layer, "_reverse"), "w", sequence[::-1], hidden)[::-1]
                sequence = [forward[t] + backward[t] for t in range(len(window))]
                finals = forward[-1] + backward[0]  # each direction's final state
            else:
                sequence, finals = forward, forward[-1]
        if arch["attention"]:
            att_w, att_b = weights["attention.weight"][1], weights["attention.bias"][1]
            scores = [_affine(att_w, att_b, out, 1, len(out))[0] for out in sequence]
            top = max(scores)
            e = [math.exp(s - top) for s in scores]
            pooled = [sum(e[t] * sequence[t][k] for t in range(len(e))) / sum(e) for k in range(len(finals))]
        else:
            pooled = finals
        logit = _affine(head_w, head_b, pooled, 1, len(pooled))[0]
        if arch.get("skip", False):
            logit += _affine(weights["skip.weight"][1], weights["skip.bias"][1], last_row, 1, features)[0]
        logits.append(logit)
    return logits


def _layer(weights, kind, layer, suffix):
    """One layer-direction's four tensors under the names `_direction` reads."""
    return {f"w.{n}": weights[f"{kind}.{n}_l{layer}{suffix}"] for n in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")}


def check(model, weights, arch, windows, tolerance=1e-5):
    """Raises unless the torch module's logits on `windows` (a few) equal `reference_logits`."""
    import torch

    with torch.no_grad():
        got = model(torch.tensor(windows, dtype=torch.float32)).tolist()
    want = reference_logits(arch, weights, windows)
    worst = max(abs(a - b) for a, b in zip(got, want))
    if worst > tolerance:
        raise AssertionError(f"the torch peer and the reference network differ by {worst:.2e}")
