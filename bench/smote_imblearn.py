"""SMOTE on a 1,000,000 x 18 table with 3% minority, k=5: imbalanced-learn's time, measured
two ways: `fit_resample` alone, and the whole job pmflow's `smote` step does (read the Parquet
input, resample, write the Parquet output).

Usage: python smote_imblearn.py make OUT.parquet ROWS FEATURES MINORITY SEED
       python smote_imblearn.py run IN.parquet OUT.parquet RATIO K SEED  -> JSON line
"""
import json
import sys
import time

import numpy as np
import pandas as pd

if sys.argv[1] == "make":
    out, rows, features, minority, seed = sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5]), int(sys.argv[6])
    rng = np.random.default_rng(seed)
    y = (rng.random(rows) < minority).astype(np.int64)
    # Two overlapping Gaussian clouds: the minority is shifted by 1.5 in every feature.
    x = rng.standard_normal((rows, features)) + 1.5 * y[:, None]
    frame = pd.DataFrame(x, columns=[f"f{i}" for i in range(features)])
    frame["label"] = y
    frame.to_parquet(out, index=False)
    sys.exit(0)

from imblearn import __version__ as imblearn_version
from imblearn.over_sampling import SMOTE

_, _, path, out, ratio, k, seed = sys.argv
started = time.perf_counter()
frame = pd.read_parquet(path)
x = frame.drop(columns=["label"]).to_numpy()
y = frame["label"].to_numpy()
resample_started = time.perf_counter()
xs, ys = SMOTE(sampling_strategy=float(ratio), k_neighbors=int(k), random_state=int(seed)).fit_resample(x, y)
resample = time.perf_counter() - resample_started
result = pd.DataFrame(xs, columns=frame.columns[:-1])
result["label"] = ys
result.to_parquet(out, index=False)
total = time.perf_counter() - started
print(json.dumps({"rows_in": len(y), "rows_out": len(ys), "minority": int(y.sum()), "fit_resample": resample,
                  "total": total, "imblearn": imblearn_version}))
