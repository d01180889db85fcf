"""Optional helper for `kind: command` steps written in Python (standard library + pandas).

The contract is the files: $PMFLOW_STEP names pmflow-step.json (inputs, outputs, roles, params,
seed) and the program appends JSON lines to its messages file. This module only saves typing:

    from pmflow_step import Step, metric, warn, progress
    ctx = Step()
    frame = ctx.input("clean")                    # a pandas DataFrame
    frame.to_parquet(ctx.output("frame"), index=False)
    metric("rows", len(frame))
"""
import json
import math
import os

import pandas as pd


class Step:
    """The step's context, as pmflow wrote it to $PMFLOW_STEP."""

    def __init__(self, path=None):
        with open(path or os.environ["PMFLOW_STEP"]) as f:
            self.spec = json.load(f)
        self.params = self.spec.get("params") or {}
        self.roles = {k: v for k, v in (self.spec.get("roles") or {}).items() if v}  # unset roles left out
        self.seed = self.spec.get("seed")
        # True when pmflow replays this step to prepare new data for a model (predict, drift):
        # then only the table outputs are expected, and `fitted` hands back the state it wrote.
        self.replay = bool(self.spec.get("replay"))

    def input(self, name):
        """Input table `name` (an upstream step id or a split part) as a DataFrame."""
        spec = self.spec["inputs"][name]
        if spec.get("format") == "csv":
            ts = self.roles.get("timestamp")
            frame = pd.read_csv(spec["path"])
            if ts in frame.columns:  # CSV has no types: give the time column its own back
                frame[ts] = pd.to_datetime(frame[ts])
            return frame
        return pd.read_parquet(spec["path"])

    def output(self, name):
        """Where to write output `name` (a model output is a folder the program creates)."""
        return self.spec["outputs"][name]["path"]

    def fitted(self, name):
        """On a replay, the path of state output `name` as the training run wrote it; else None."""
        return (self.spec.get("fitted") or {}).get(name)


def _send(message):
    # One line per message, flushed at once: pmflow reads the file while the program runs.
    path = os.environ.get("PMFLOW_MESSAGES") or Step().spec["messages"]
    with open(path, "a") as f:
        f.write(json.dumps(message) + "\n")
        f.flush()


def metric(name, value, step=None):
    """Log a metric; with `step` (an epoch, an iteration), a point of a series."""
    value = float(value)
    if not math.isfinite(value):  # JSON has no NaN or infinity
        return warn(f"metric {name} is {value}; not logged")
    _send({"metric": name, "value": value} if step is None else {"metric": name, "value": value, "step": int(step)})


def warn(text):
    _send({"warning": str(text)})


def tag(key, value):
    _send({"tag": str(key), "value": str(value)})


def progress(done, total, message=""):
    _send({"progress": int(done), "total": int(total), "message": message})
