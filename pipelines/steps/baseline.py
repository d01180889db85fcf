"""Per-machine baseline normalisation, a `kind: command` step (see pipelines/custom.yaml).

Each sensor column is measured against the machine's own first `days` days: (value - mean) /
std, with mean and std taken over those days, so each machine is compared with how it ran when
new rather than with the fleet. The result is added as `<column>_vs_baseline` beside the raw
column (which keeps the absolute units: process minus air temperature, power against torque);
with `keep-raw: false` it replaces the raw column instead. Role columns, non-numeric columns and
0/1 event columns are left alone.

Input: the one table the step reads. Outputs: `frame`, the same rows in the same order (the
input's columns, then the added ones); `baseline.json` (state), the figures applied, per machine:
{"days": 7, "min-rows": 24, "columns": [...], "machines": {"M0001": {"col": [mean, std]}}}
(null mean: no reading in the first days). On a replay on new data (predict, drift) the stored
figures are applied, so a machine's rows get the values they had in training; a machine the
state does not know falls back to its own first days in the new file (with a warning).
Params: `days` (7), `columns` (default: every sensor column as above), `min-rows` (24: fewer
readings in the first days than this and the std is not trusted), `keep-raw` (true).
"""
import json

import numpy as np
import pandas as pd

from pmflow_step import Step, metric, progress, warn

STATE = "baseline.json"
ctx = Step()
if len(ctx.spec["inputs"]) != 1:
    raise SystemExit(f"baseline: reads one table, got {list(ctx.spec['inputs'])}; name it under `inputs`")
frame = ctx.input(next(iter(ctx.spec["inputs"])))
entity, ts = ctx.roles["entity"], ctx.roles["timestamp"]
keep_raw = bool(ctx.params.get("keep-raw", True))
roles = set(ctx.roles.values())

state = None
if ctx.replay:
    if not ctx.fitted(STATE):
        raise SystemExit(f"baseline: replayed on new data without the {STATE} fitted in training")
    with open(ctx.fitted(STATE)) as f:
        state = json.load(f)
    days, min_rows, columns = float(state["days"]), int(state["min-rows"]), list(state["columns"])
else:
    days = float(ctx.params.get("days", 7))
    min_rows = int(ctx.params.get("min-rows", 24))


def is_sensor(col):
    s = frame[col]
    if col in roles or not pd.api.types.is_numeric_dtype(s) or pd.api.types.is_bool_dtype(s):
        return False
    return not s.dropna().isin([0, 1]).all()  # an event or label column: 0/1 only


if state is None:
    columns = list(ctx.params["columns"]) if ctx.params.get("columns") else [c for c in frame.columns if is_sensor(c)]
wrong = [c for c in columns if c not in frame.columns or c in roles or not pd.api.types.is_numeric_dtype(frame[c])]
if wrong:
    raise SystemExit(f"baseline: {wrong}: not numeric non-role columns of the input (named by `columns` or the fitted {STATE})")
added = [f"{c}_vs_baseline" for c in columns] if keep_raw else columns
taken = [c for c in added if keep_raw and c in frame.columns]
if taken:
    raise SystemExit(f"baseline: the input already has {taken}; rename them or set `keep-raw: false`")
if not pd.api.types.is_datetime64_any_dtype(frame[ts]):
    raise SystemExit(f"baseline: the timestamp column `{ts}` is not a date-time column")

# Machine codes 0..m-1 (sorted ids) index the per-machine figures below.
codes, machines = pd.factorize(frame[entity], sort=True)
if (codes < 0).any():
    raise SystemExit(f"baseline: `{entity}` has missing values")


def fit(which):
    """Mean and std (machines x columns) of the first `days` days of the machines `which` (a
    boolean mask over machine codes) in this table; NaN rows for the others. A std from too few
    readings or a flat first week is 1 (centred only); a mean with no reading at all is NaN."""
    rows = which[codes]
    sub, sub_codes = frame.loc[rows, [ts] + columns], codes[rows]
    start = sub.groupby(sub_codes)[ts].transform("min")
    first = (sub[ts] < start + pd.Timedelta(days=days)).to_numpy()
    base = sub.loc[first, columns].groupby(sub_codes[first])
    index = range(len(machines))
    mean, std, count = base.mean().reindex(index), base.std().reindex(index), base.count().reindex(index).fillna(0)
    untrusted = ((count < min_rows) | std.isna() | (std == 0)) & which[:, None]
    for code in np.flatnonzero(untrusted.any(axis=1).to_numpy()):
        bad, empty = untrusted.iloc[code], count.iloc[code] == 0
        flat, none = ", ".join(bad.index[bad & ~empty]), ", ".join(bad.index[empty])
        said = ([f"{flat} centred only (too few readings or flat)"] if flat else []) + (
            [f"{none} left empty (no readings)" if keep_raw else f"{none} left as they were (no readings)"] if none else [])
        warn(f"machine {machines[code]}, first {days:g} days: " + "; ".join(said))
    metric("machines_centred_only", int(untrusted.any(axis=1).sum()))
    return mean.to_numpy(), std.mask(untrusted, 1.0).to_numpy()


if state is None:
    mean, std = fit(np.ones(len(machines), bool))
    if STATE in ctx.spec["outputs"]:  # not on a replay, nor when the pipeline does not declare it
        fitted = {str(machines[i]): {c: [None if np.isnan(mean[i, j]) else float(mean[i, j]), float(std[i, j])]
                                     for j, c in enumerate(columns)} for i in range(len(machines))}
        with open(ctx.output(STATE), "w") as f:
            json.dump({"days": days, "min-rows": min_rows, "columns": columns, "machines": fitted}, f, indent=1)
else:
    stored = [state["machines"].get(str(m)) for m in machines]
    mean = np.array([[np.nan if r is None or r[c][0] is None else r[c][0] for c in columns] for r in stored], float)
    std = np.array([[1.0 if r is None else r[c][1] for c in columns] for r in stored], float)
    new = np.array([r is None for r in stored], bool)
    if new.any():
        names = [str(m) for m in machines[new]]
        shown = ", ".join(names[:10]) + (f" and {len(names) - 10} more" if len(names) > 10 else "")
        warn(f"machines not in the baseline fitted in training ({shown}): each is measured "
             f"against its own first {days:g} days in this data instead, which may not be its first days in service")
        new_mean, new_std = fit(new)
        mean[new], std[new] = new_mean[new], new_std[new]
    metric("machines_new", int(new.sum()))

# Apply in machine batches (rows of machines in [lo, hi)), vectorised, for ~20 progress lines.
values = frame[columns].to_numpy(dtype="float64", copy=True)  # pandas hands out read-only views
if not keep_raw:
    mean = np.where(np.isnan(mean), 0.0, mean)  # no readings: left as they were
bounds = np.linspace(0, len(machines), min(20, len(machines)) + 1).astype(int)
for lo, hi in zip(bounds[:-1], bounds[1:]):
    rows = np.flatnonzero((codes >= lo) & (codes < hi))
    values[rows] = (values[rows] - mean[codes[rows]]) / std[codes[rows]]
    progress(hi, len(machines), "machines")
if keep_raw:
    frame = pd.concat([frame, pd.DataFrame(values, columns=added, index=frame.index)], axis=1)
else:
    frame[columns] = values

frame.to_parquet(ctx.output("frame"), index=False)
metric("machines", len(machines))
metric("columns_normalised", len(columns))
