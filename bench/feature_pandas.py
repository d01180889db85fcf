"""The benchmark pipeline in pandas: load -> clean -> feature -> split, each stage reading the
previous stage's Parquet and writing its own (as pmflow's steps do). Prints the stage times
(seconds) so far as a JSON line after each stage, and peak RSS at the end. Usage: python feature_pandas.py FLEET.csv OUTDIR"""
import json, resource, sys, time
from pathlib import Path

import numpy as np
import pandas as pd

src, out = sys.argv[1], Path(sys.argv[2])
out.mkdir(parents=True, exist_ok=True)
SENSORS = ["air_temperature", "process_temperature", "pressure", "vibration_rms",
           "rotational_speed", "torque", "power", "current"]
E, T = "equipment_id", "timestamp"
times = {}


def write(stage, frame, path):
    """Writes one Parquet file, adding its time to `write_<stage>` (the stage time includes it)."""
    t = time.perf_counter()
    frame.to_parquet(path)
    times["write_" + stage] = times.get("write_" + stage, 0.0) + time.perf_counter() - t

t0 = time.perf_counter()
df = pd.read_csv(src, parse_dates=[T])
write("load", df, out / "load.parquet")
times["load"] = time.perf_counter() - t0
print(json.dumps(times), flush=True)

t0 = time.perf_counter()
df = df.sort_values([E, T], kind="stable").drop_duplicates()
g = df.groupby(E, sort=False)
for c in SENSORS:
    df[c] = g[c].transform(lambda s: s.interpolate())
outliers = {}
for c in SENSORS:
    q1, q3 = df[c].quantile([0.25, 0.75])
    outliers[c] = int(((df[c] < q1 - 3 * (q3 - q1)) | (df[c] > q3 + 3 * (q3 - q1))).sum())
write("clean", df, out / "clean.parquet")
times["clean"] = time.perf_counter() - t0
print(json.dumps(times), flush=True)

t0 = time.perf_counter()
g = df.groupby(E, sort=False)
new = {}
for c in SENSORS:
    for w in (6, 36):
        r = g[c].rolling(w, min_periods=1)
        new[f"{c}_roll{w}_mean"] = r.mean().reset_index(level=0, drop=True)
        new[f"{c}_roll{w}_std"] = r.std().reset_index(level=0, drop=True)
    for k in (1, 3):
        new[f"{c}_lag{k}"] = g[c].shift(k)
    new[f"{c}_diff1"] = g[c].diff(1)
new["hour"] = df[T].dt.hour
new["dayofweek"] = df[T].dt.day_of_week
next_event = df[T].where(df["failure_event"] == 1).groupby(df[E], sort=False).bfill()
new["label"] = ((next_event - df[T]) <= pd.Timedelta(hours=24)).astype("int64")
df = pd.concat([df, pd.DataFrame(new, index=df.index)], axis=1).drop(columns=["failure_mode", "failure", "failure_event"])
write("feature", df, out / "feature.parquet")
times["feature"] = time.perf_counter() - t0
print(json.dumps(times), flush=True)

t0 = time.perf_counter()
ids = np.sort(df[E].unique())
np.random.default_rng(42).shuffle(ids)
a, b = round(len(ids) * 0.7), round(len(ids) * 0.85)
parts = {"train": ids[:a], "val": ids[a:b], "test": ids[b:]}
frames = {k: df[df[E].isin(v)] for k, v in parts.items()}
num = [c for c in df.select_dtypes("number").columns if c not in (E, T, "label")]
rows = len(df)
del df  # the parts are copies; keeping the whole frame as well ran out of 24 GiB
mean, std = frames["train"][num].mean(), frames["train"][num].std(ddof=0).replace(0, 1.0)
for k in list(frames):
    f = frames.pop(k)
    for c in num:  # column by column: one column's temporaries at a time
        f[c] = (f[c] - mean[c]) / std[c]
    write("split", f, out / f"{k}.parquet")
    del f
times["split"] = time.perf_counter() - t0

times["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
times["rows"] = rows
print(json.dumps(times))
