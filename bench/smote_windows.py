"""Windowed SMOTE, the shape sequence models need: each sample is a window of WINDOW rows x
COLUMNS sensors, flattened (36 x 56 = 2,016 dimensions). imbalanced-learn's time on the same
windows pmflow's `smote` step builds (`window: WINDOW`), measured as `fit_resample` alone.

Usage:
  python smote_windows.py make OUT.parquet UNITS ROWS COLUMNS POSITIVE_ROWS SEED
      UNITS machines of ROWS time-ordered rows and COLUMNS sensors; the last POSITIVE_ROWS rows
      of each are labelled 1 (a failure is near), so each unit gives POSITIVE_ROWS minority
      windows and ROWS - WINDOW + 1 - POSITIVE_ROWS majority ones.
  python smote_windows.py run IN.parquet WINDOW RATIO K SEED  -> one JSON line
"""
import json
import sys
import time

import numpy as np
import pandas as pd

if sys.argv[1] == "make":
    out, units, rows, columns, positive_rows, seed = sys.argv[2], *map(int, sys.argv[3:8])
    rng = np.random.default_rng(seed)
    # Each sensor: a per-unit level, AR(1) noise (phi 0.8) and, near the failure, a drift of
    # unit-specific size, so neighbouring windows overlap as real ones do.
    phi = 0.8
    noise = rng.standard_normal((units, rows, columns))
    for t in range(1, rows):
        noise[:, t] = phi * noise[:, t - 1] + np.sqrt(1 - phi * phi) * noise[:, t]
    level = rng.normal(0, 2, (units, 1, columns))
    ramp = np.clip(np.arange(rows) - (rows - 2 * positive_rows), 0, None) / positive_rows
    drift = rng.normal(0, 1.5, (units, 1, columns)) * ramp[None, :, None]
    x = (level + noise + drift).reshape(units * rows, columns)
    frame = pd.DataFrame(x, columns=[f"s{i}" for i in range(columns)])
    frame.insert(0, "cycle", np.tile(np.arange(rows), units))
    frame.insert(0, "unit", np.repeat(np.arange(units), rows))
    frame["label"] = np.tile((np.arange(rows) >= rows - positive_rows).astype(np.int64), units)
    frame.to_parquet(out, index=False)
    sys.exit(0)

from imblearn import __version__ as imblearn_version
from imblearn.over_sampling import SMOTE

_, _, path, window, ratio, k, seed = sys.argv
window = int(window)
frame = pd.read_parquet(path)
sensors = [c for c in frame.columns if c not in ("unit", "cycle", "label")]
xs, ys = [], []
for _, unit in frame.groupby("unit", sort=False):
    values = unit[sensors].to_numpy()
    # [windows, columns, window] -> time-major rows, as pmflow flattens them.
    views = np.lib.stride_tricks.sliding_window_view(values, window, axis=0)
    xs.append(views.transpose(0, 2, 1).reshape(len(views), -1))
    ys.append(unit["label"].to_numpy()[window - 1:])
x, y = np.ascontiguousarray(np.concatenate(xs)), np.concatenate(ys)
started = time.perf_counter()
xr, yr = SMOTE(sampling_strategy=float(ratio), k_neighbors=int(k), random_state=int(seed)).fit_resample(x, y)
resample = time.perf_counter() - started
print(json.dumps({"windows": len(y), "minority": int(y.sum()), "dim": x.shape[1], "synthetic": len(yr) - len(y),
                  "fit_resample": resample, "imblearn": imblearn_version}))
