"""The benchmark pipeline in Python polars: load -> clean -> feature -> split, each stage taking
the previous stage's frame in memory and writing its own Parquet (as pmflow's steps do). Prints the stage times
(seconds) so far as a JSON line after each stage, and peak RSS at the end. Usage: python feature_polars.py FLEET.csv OUTDIR"""
import json, resource, sys, time
from pathlib import Path

import numpy as np
import polars as pl

src, out = sys.argv[1], Path(sys.argv[2])
out.mkdir(parents=True, exist_ok=True)
SENSORS = ["air_temperature", "process_temperature", "pressure", "vibration_rms",
           "rotational_speed", "torque", "power", "current"]
E, T = "equipment_id", "timestamp"
times = {}


def write(stage, frame, path):
    """Writes one Parquet file, adding its time to `write_<stage>` (the stage time includes it)."""
    t = time.perf_counter()
    frame.write_parquet(path)
    times["write_" + stage] = times.get("write_" + stage, 0.0) + time.perf_counter() - t

t0 = time.perf_counter()
df = pl.scan_csv(src, try_parse_dates=True).collect()
write("load", df, out / "load.parquet")
times["load"] = time.perf_counter() - t0
print(json.dumps(times), flush=True)

t0 = time.perf_counter()
df = df.sort([E, T], maintain_order=True).unique(maintain_order=True)
df = df.with_columns([pl.col(c).interpolate().forward_fill().over(E) for c in SENSORS])
q = df.select([pl.col(c).quantile(q, "linear").alias(f"{c}_{q}") for c in SENSORS for q in (0.25, 0.75)])
outliers = {}
for c in SENSORS:
    q1, q3 = q[f"{c}_0.25"][0], q[f"{c}_0.75"][0]
    lo, hi = q1 - 3 * (q3 - q1), q3 + 3 * (q3 - q1)
    outliers[c] = df.filter((pl.col(c) < lo) | (pl.col(c) > hi)).height
write("clean", df, out / "clean.parquet")
times["clean"] = time.perf_counter() - t0
print(json.dumps(times), flush=True)

t0 = time.perf_counter()
feats = []
for c in SENSORS:
    for w in (6, 36):
        feats.append(pl.col(c).rolling_mean(w, min_samples=1).over(E).alias(f"{c}_roll{w}_mean"))
        feats.append(pl.col(c).rolling_std(w, min_samples=1).over(E).alias(f"{c}_roll{w}_std"))
    for k in (1, 3):
        feats.append(pl.col(c).shift(k).over(E).alias(f"{c}_lag{k}"))
    feats.append(pl.col(c).diff(1).over(E).alias(f"{c}_diff1"))
feats += [pl.col(T).dt.hour().alias("hour"), (pl.col(T).dt.weekday() - 1).alias("dayofweek")]
next_event = pl.when(pl.col("failure_event") == 1).then(pl.col(T)).otherwise(None).backward_fill().over(E)
feats.append(((next_event - pl.col(T)) <= pl.duration(hours=24)).fill_null(False).cast(pl.Int64).alias("label"))
df = df.with_columns(feats).drop(["failure_mode", "failure", "failure_event"])
write("feature", df, out / "feature.parquet")
times["feature"] = time.perf_counter() - t0
print(json.dumps(times), flush=True)

t0 = time.perf_counter()
ids = df[E].unique().sort().to_numpy()
np.random.default_rng(42).shuffle(ids)
a, b = round(len(ids) * 0.7), round(len(ids) * 0.85)
parts = {"train": ids[:a], "val": ids[a:b], "test": ids[b:]}
frames = {k: df.filter(pl.col(E).is_in(v.tolist())) for k, v in parts.items()}
num = [c for c, t in df.schema.items() if t.is_numeric() and c not in (E, T, "label")]
stats = frames["train"].select([pl.col(c).mean().alias(c + "_m") for c in num] + [pl.col(c).std(ddof=0).alias(c + "_s") for c in num])
scaled = [((pl.col(c) - stats[c + "_m"][0]) / (stats[c + "_s"][0] or 1.0)).alias(c) for c in num]
for k, f in frames.items():
    write("split", f.with_columns(scaled), out / f"{k}.parquet")
times["split"] = time.perf_counter() - t0

times["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
times["rows"] = df.height
print(json.dumps(times))
