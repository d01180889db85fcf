"""Checks that the Python peers' network (bench/peer_model.py) is pmflow's, on a trained model:
the variables in model.safetensors are exactly `parameter_shapes` of the card's architecture
(names and shapes, none missing or unexpected), and the reference network gives pmflow's own
scores on the first windows of each machine. With torch importable (the bench venv,
bench/ml_venv.sh) it also loads the file into the torch module with strict=True and compares
that module with the reference.

Plain python3, no packages: tests/cli/bench_peers.rs runs it on every CI run.

Usage: python3 bench/peer_check.py MODEL_DIR DATA.csv SCORES.csv [WINDOWS_PER_MACHINE]
  DATA.csv: rows with the card's timestamp, entity and feature columns, no gaps, scored as is
  (the model's pipeline has no clean or feature step); SCORES.csv: `pmflow predict --at all
  --out` of that file. Prints one line `ok: ...`, or the first disagreement and exits 1.
"""
import csv
import json
import math
import sys
from pathlib import Path

sys.dont_write_bytecode = True  # run from the test suite: leave no __pycache__ in the clone
sys.path.insert(0, str(Path(__file__).resolve().parent))
import peer_model  # noqa: E402

model_dir, data_path, scores_path = Path(sys.argv[1]), sys.argv[2], sys.argv[3]
per_machine = int(sys.argv[4]) if len(sys.argv) > 4 else 3
card = json.loads((model_dir / "model_card.json").read_text())
arch, window, features = card["architecture"], card["window"], card["features"]
E, T = card["entity"], card["timestamp"]

header, _, _ = peer_model.safetensors_header(model_dir / "model.safetensors")
saved = {name: info["shape"] for name, info in header.items()}
expected = peer_model.parameter_shapes(arch)
if saved != expected:
    missing = sorted(set(expected) - set(saved))
    unexpected = sorted(set(saved) - set(expected))
    shapes = sorted(n for n in set(saved) & set(expected) if saved[n] != expected[n])
    sys.exit(f"bench/peer_model.py does not match pmflow's network ({arch}): missing key(s) {missing}, "
             f"unexpected key(s) {unexpected}, other shape(s) {[(n, saved[n], expected[n]) for n in shapes]}")
weights = peer_model.read_lists(model_dir / "model.safetensors")


def day(stamp):
    """A timestamp as both tools write it: `2024-01-01 05:00:00` (CSV) or `...T05:00:00.000`."""
    return stamp.replace("T", " ")[:19]


scaler = card["scaler"]["columns"] if card.get("scaler") else {}
rows = sorted(csv.DictReader(open(data_path)), key=lambda r: (r[E], day(r[T])))
by_machine = {}
for r in rows:
    scaled = [(float(r[f]) - scaler[f]["offset"]) / scaler[f]["scale"] if f in scaler else float(r[f]) for f in features]
    by_machine.setdefault(r[E], []).append((day(r[T]), scaled))
pmflow = {(r[E], day(r[T])): float(r["score"]) for r in csv.DictReader(open(scores_path))}

windows, keys = [], []
for machine, series in by_machine.items():
    for end in range(window - 1, min(len(series), window - 1 + per_machine)):
        windows.append([x for _, x in series[end - window + 1 : end + 1]])
        keys.append((machine, series[end][0]))
logits = peer_model.reference_logits(arch, weights, windows)
worst = 0.0
for key, logit in zip(keys, logits):
    if key not in pmflow:
        sys.exit(f"pmflow scored no window ending at {key}")
    worst = max(worst, abs(1.0 / (1.0 + math.exp(-logit)) - pmflow[key]))
if worst > 1e-5:
    sys.exit(f"the reference network's scores differ from pmflow's by {worst:.2e} ({arch})")

torch_line = "torch not importable: the torch module not checked"
try:
    import torch  # noqa: F401
except (ImportError, OSError):  # absent, or a build whose CUDA libraries are missing
    pass
else:
    model = peer_model.classifier(arch)
    model.load_state_dict(peer_model.read_safetensors(model_dir / "model.safetensors"), strict=True)
    model.eval()
    peer_model.check(model, weights, arch, windows)
    torch_line = "torch module loaded strictly and agrees"
print(f"ok: {len(expected)} variables, {len(windows)} windows within {worst:.1e}; {torch_line}")
