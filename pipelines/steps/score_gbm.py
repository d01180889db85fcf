"""The score command of a model train_gbm.py writes (copied into the model folder as score.py).

pmflow runs it in (a copy of) the model folder with PMFLOW_SCORE_INPUT, a Parquet file of
prepared rows (`window`, `step`, then the features of model.json), and PMFLOW_SCORE_OUTPUT, where
it writes one float64 `score` per window, windows in order (0, 1, ...). The trees see one row, so
a window longer than 1 is scored by its last row (the largest `step`).
"""
import json
import os

import joblib
import pandas as pd

card = json.load(open("model.json"))
model = joblib.load("model.joblib")
rows = pd.read_parquet(os.environ["PMFLOW_SCORE_INPUT"])
if not rows["window"].is_unique:
    rows = rows.loc[rows.groupby("window")["step"].idxmax()]  # last row of each window
rows = rows.sort_values("window", kind="stable")
score = model.predict_proba(rows[card["features"]])[:, 1].astype("float64")
pd.DataFrame({"score": score}).to_parquet(os.environ["PMFLOW_SCORE_OUTPUT"], index=False)
