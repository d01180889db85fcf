"""Batch scoring in Python: what `pmflow predict` does, written as a pandas + PyTorch user
would. Reads raw sensor rows, repeats the training pipeline's `clean` (sort, dedupe, per-machine
linear interpolation) and `feature` steps (rolling mean/std, lags, diffs, hour, day of week, then
drop-na), applies the model card's scaler, scores every window of `window` consecutive rows of a
machine with pmflow's network (bench/peer_model.py), and writes one score per window (named by its last row).

Which features exist, how each was made (source, window, rows) and their order all come from the
model card (`features`, `feature-manifest`, `scaler`), so the script follows the pipeline it was
trained with instead of hard-coding it.

Usage: python predict_torch.py MODEL_DIR DATA.csv OUT.csv [THREADS] [BATCH]  -> one JSON line of
timings (seconds): read, prepare (clean + feature + scale), windows_and_forward, write, total
(the sum of those four; `startup`, the imports and loading the model, is reported apart).
MODEL_DIR holds the train step's model_card.json and model.safetensors.
"""
import time

t_launch = time.perf_counter()
import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv
import torch

import peer_model  # bench/peer_model.py: pmflow's network in PyTorch

model_dir, data_path, out_path = Path(sys.argv[1]), sys.argv[2], sys.argv[3]
threads = int(sys.argv[4]) if len(sys.argv) > 4 else 2
# 1024 was the fastest of 1024 / 4096 / 16384 (1 and 2 threads): a batch's gate buffers
# still fit in cache.
batch_size = int(sys.argv[5]) if len(sys.argv) > 5 else 1024
torch.set_num_threads(threads)
pa.set_cpu_count(threads)  # pyarrow's CSV reader and writer: the same cores as torch

card = json.loads((model_dir / "model_card.json").read_text())
arch, window, features = card["architecture"], card["window"], card["features"]
E, T = card["entity"], card["timestamp"]
manifest = card["feature-manifest"]["features"]
made = [m["name"] for m in manifest]  # what `feature` generated: drop-na looks at these only
# The columns `clean` interpolated: the raw inputs of the network and the features' sources.
sensors = list(dict.fromkeys([f for f in features if f not in made] + [m["source"] for m in manifest if m["source"] != T]))
scaler = card["scaler"]["columns"]
# pmflow's network, variable for variable: a mismatch fails here (strict) rather than scoring
# with a different model.
model = peer_model.classifier(arch)
model.load_state_dict(peer_model.read_safetensors(model_dir / "model.safetensors"), strict=True)
model.eval()

t_start = time.perf_counter()
# --- read: the key columns and the sensors (labels, if present, are not needed) -------------
df = pd.read_csv(data_path, usecols=[T, E, *sensors], engine="pyarrow")
df[T] = pd.to_datetime(df[T])
rows = len(df)
t_read = time.perf_counter()

# --- clean: sort by machine and time, drop exact repeats, interpolate each machine's gaps ---
df = df.dropna(subset=[E, T])  # a row without machine or time cannot be placed
df = df.sort_values([E, T], kind="stable")
# Exact repeats (every column equal) share their machine and time: looking for them among those
# rows only gives df.drop_duplicates()'s result (first kept) in a fraction of the time.
same_key = df.duplicated([E, T], keep=False)
if same_key.any():
    df = df.drop(df.index[same_key][df[same_key].duplicated()])
df = df.reset_index(drop=True)
g = df.groupby(E, sort=False)
for c in sensors:
    # Linear in row position; leading gaps stay missing, trailing gaps take the last value.
    df[c] = g[c].transform(lambda s: s.interpolate())

# --- feature: per machine, in the card's manifest order --------------------------------------
g = df.groupby(E, sort=False)
ts = df[T]
zone = next((m.get("timezone") for m in manifest if m["transform"] in ("hour", "dayofweek")), "UTC")
if ts.dt.tz is None:
    ts = ts.dt.tz_localize("UTC")  # pmflow reads naive times as UTC
ts = ts.dt.tz_convert(zone)
cols = {}
rolled = {}  # (window, min-periods, statistic) -> that statistic of every sensor, made once
for m in manifest:
    name, kind = m["name"], m["transform"]
    if kind in ("rolling_mean", "rolling_std"):
        if not str(m["window"]).isdigit():  # a duration such as "6h": rolling(..., on=T)
            sys.exit(f"rolling window `{m['window']}` ({name}) is not rows; not supported by this script")
        key = (int(m["window"]), m["min-periods"], kind.removeprefix("rolling_"))
        if key not in rolled:
            w, min_periods, stat = key
            # Missing values skipped; std is the sample std (ddof=1), NaN below 2 values.
            rolled[key] = getattr(g[sensors].rolling(w, min_periods=min_periods), stat)()
        cols[name] = rolled[key][m["source"]].to_numpy()  # machines in df's (sorted) order
    elif kind == "lag":
        cols[name] = g[m["source"]].shift(m["rows"]).to_numpy()
    elif kind == "diff":
        cols[name] = g[m["source"]].diff(m["rows"]).to_numpy()
    elif kind == "hour":
        cols[name] = ts.dt.hour.to_numpy(np.float64)
    elif kind == "dayofweek":
        cols[name] = ts.dt.day_of_week.to_numpy(np.float64)  # Monday = 0
    else:
        sys.exit(f"feature transform `{kind}` ({name}) is not supported by this script")
for c in sensors:
    cols[c] = df[c].to_numpy(np.float64)

# drop-na: keep the rows where every generated feature is a finite number.
keep = np.logical_and.reduce([np.isfinite(cols[n]) for n in made])
# The card's scaler, column by column, in the network's feature order; then float32.
X = np.empty((int(keep.sum()), len(features)), dtype=np.float32)
for j, name in enumerate(features):
    s = scaler[name]
    X[:, j] = (cols[name][keep] - s["offset"]) / s["scale"]
kept = df.loc[keep, [E, T]].reset_index(drop=True)
t_prepare = time.perf_counter()

# --- windows and forward pass -----------------------------------------------------------------
# A window ends at every row with at least window - 1 rows before it in the same machine.
ends = np.flatnonzero(kept.groupby(E, sort=False).cumcount().to_numpy() >= window - 1)
starts = ends - (window - 1)
if len(ends):  # a view, no copy: windows[i] = X[i : i + window], [rows - window + 1, window, features]
    windows = np.lib.stride_tricks.sliding_window_view(X, (window, X.shape[1]))[:, 0]
scores = np.empty(len(ends), dtype=np.float32)
with torch.no_grad():
    for b in range(0, len(ends), batch_size):
        x = torch.from_numpy(windows[starts[b : b + batch_size]])  # copy: [batch, window, features]
        scores[b : b + batch_size] = torch.sigmoid(model(x)).numpy()
t_forward = time.perf_counter()

# --- write -------------------------------------------------------------------------------------
out = pd.DataFrame({E: kept[E].to_numpy()[ends], T: kept[T].to_numpy()[ends], "score": scores})
pa.csv.write_csv(pa.Table.from_pandas(out, preserve_index=False), out_path)
t_write = time.perf_counter()

print(json.dumps({
    "read": t_read - t_start, "prepare": t_prepare - t_read, "windows_and_forward": t_forward - t_prepare,
    "write": t_write - t_forward, "total": t_write - t_start, "startup": t_start - t_launch,
    "rows": rows, "windows": len(ends),
    "threads": threads, "batch_size": batch_size, "torch": torch.__version__,
}))
