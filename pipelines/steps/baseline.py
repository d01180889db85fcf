"""Per-machine baseline normalisation, a `kind: command` step (see pipelines/custom.yaml).

Every numeric sensor column becomes (value - mean) / std, with mean and std taken over that
machine's own first `days` days, so each machine is measured against how it ran when new rather
than against the fleet. Role columns, non-numeric columns and 0/1 event columns are left alone.

Input: the one table the step reads. Output `frame`: the same columns and rows in the same order.
Params: `days` (7), `columns` (default: every sensor column as above), `min-rows` (24: fewer
readings in the first days than this and the std is not trusted).
"""
import numpy as np
import pandas as pd

from pmflow_step import Step, metric, progress, warn

ctx = Step()
(name,) = ctx.spec["inputs"]  # exactly one input table
frame = ctx.input(name)
entity, ts = ctx.roles["entity"], ctx.roles["timestamp"]
days = float(ctx.params.get("days", 7))
min_rows = int(ctx.params.get("min-rows", 24))
roles = set(ctx.roles.values())


def is_sensor(col):
    s = frame[col]
    if col in roles or not pd.api.types.is_numeric_dtype(s) or pd.api.types.is_bool_dtype(s):
        return False
    return not s.dropna().isin([0, 1]).all()  # an event or label column: 0/1 only


if ctx.params.get("columns"):
    columns = list(ctx.params["columns"])
    wrong = [c for c in columns if c not in frame.columns or c in roles or not pd.api.types.is_numeric_dtype(frame[c])]
    if wrong:
        raise SystemExit(f"baseline: `columns` names {wrong}: not numeric non-role columns of the input")
else:
    columns = [c for c in frame.columns if is_sensor(c)]
if not pd.api.types.is_datetime64_any_dtype(frame[ts]):
    raise SystemExit(f"baseline: the timestamp column `{ts}` is not a date-time column")

# Machine codes 0..m-1 (sorted ids) index the per-machine statistics below.
codes, machines = pd.factorize(frame[entity], sort=True)
if (codes < 0).any():
    raise SystemExit(f"baseline: `{entity}` has missing values")
start = frame.groupby(codes)[ts].transform("min")
first = (frame[ts] < start + pd.Timedelta(days=days)).to_numpy()

# Statistics of each machine's first days: one row per machine, one column per sensor.
base = frame.loc[first, columns].groupby(codes[first])
mean = base.mean().reindex(range(len(machines)))
std = base.std().reindex(range(len(machines)))
count = base.count().reindex(range(len(machines))).fillna(0)

# Not enough readings or a flat first week: centre only (divide by 1); no readings at all in it:
# nothing to centre by, left as it was.
untrusted = (count < min_rows) | std.isna() | (std == 0)
for code in np.flatnonzero(untrusted.any(axis=1).to_numpy()):
    bad, empty = untrusted.iloc[code], count.iloc[code] == 0
    flat, none = ", ".join(bad.index[bad & ~empty]), ", ".join(bad.index[empty])
    said = ([f"{flat} centred only (too few readings or flat)"] if flat else []) + (
        [f"{none} left as they were (no readings)"] if none else [])
    warn(f"machine {machines[code]}, first {days:g} days: " + "; ".join(said))
std = std.mask(untrusted, 1.0)
mean = mean.fillna(0.0)

# Apply in machine batches (rows of machines in [lo, hi)), vectorised, for ~20 progress lines.
values = frame[columns].to_numpy(dtype="float64", copy=True)  # pandas hands out read-only views
mean_a, std_a = mean.to_numpy(), std.to_numpy()
bounds = np.linspace(0, len(machines), min(20, len(machines)) + 1).astype(int)
for lo, hi in zip(bounds[:-1], bounds[1:]):
    rows = np.flatnonzero((codes >= lo) & (codes < hi))
    values[rows] = (values[rows] - mean_a[codes[rows]]) / std_a[codes[rows]]
    progress(hi, len(machines), "machines")
frame[columns] = values

frame.to_parquet(ctx.output("frame"), index=False)
metric("machines", len(machines))
metric("columns_normalised", len(columns))
metric("machines_centred_only", int(untrusted.any(axis=1).sum()))
