"""Gradient-boosted trees on a split, a `kind: command` step (see pipelines/custom.yaml).

Fits scikit-learn's HistGradientBoostingClassifier on input `train` (features: every numeric
non-role column; label: the label role), logs the validation log loss every 10 iterations
(`val_log_loss` series), keeps the iteration count with the lowest one and refits to it.
Writes the `model` output folder: model.joblib, score.py (a copy of score_gbm.py, pmflow's
way in) and model.json. No threshold: pmflow picks it on `val`.

Params: `max-iter` (200), `learning-rate` (0.1), `max-leaf-nodes` (31), `min-samples-leaf` (20),
`class-weight` ("balanced" or null). Metrics: `val_log_loss` (series), `val_log_loss_best`,
`iterations` (pmflow logs the val PR-AUC itself when it picks the threshold on val).
"""
import json
import shutil
import sys
from pathlib import Path

import joblib
import numpy as np
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.metrics import log_loss
from sklearn.utils.class_weight import compute_sample_weight

from pmflow_step import Step, metric, progress

ctx = Step()
train, val = ctx.input("train"), ctx.input("val")
label = ctx.roles.get("label") or sys.exit("train_gbm: the input has no label role (give `feature` a `label:`)")
roles = set(ctx.roles.values())
# bool is not "number" to pandas; an 0/1 int column (an event flag) stays a feature.
features = [c for c in train.select_dtypes("number").columns if c not in roles]
x, y = train[features], train[label].to_numpy()
x_val, y_val = val[features], val[label].to_numpy()

p = ctx.params
settings = dict(
    learning_rate=float(p.get("learning-rate", 0.1)),
    max_leaf_nodes=int(p.get("max-leaf-nodes", 31)),
    min_samples_leaf=int(p.get("min-samples-leaf", 20)),
    class_weight=p.get("class-weight"),
    early_stopping=False,  # stopping is ours, on the given val part, not on a slice of train
    random_state=ctx.seed,
)
max_iter = int(p.get("max-iter", 200))
progress(0, max_iter, "fitting")
model = HistGradientBoostingClassifier(max_iter=max_iter, **settings).fit(x, y)

# Validation log loss after each iteration, weighted as training was (class-weight), so the
# best count is judged by the loss the trees minimise.
weight = compute_sample_weight(settings["class_weight"], y_val) if settings["class_weight"] else None
losses = []
for i, proba in enumerate(model.staged_predict_proba(x_val), start=1):
    losses.append(log_loss(y_val, proba[:, 1], sample_weight=weight, labels=[0, 1]))
    if i % 10 == 0 or i == model.n_iter_:
        metric("val_log_loss", losses[-1], step=i)
        progress(i, model.n_iter_, "iterations")
best = int(np.argmin(losses)) + 1
if best < model.n_iter_:
    # Same data, settings and seed: the first `best` trees are the same ones.
    model = HistGradientBoostingClassifier(max_iter=best, **settings).fit(x, y)

metric("iterations", best)
metric("val_log_loss_best", losses[best - 1])

folder = Path(ctx.output("model"))
folder.mkdir(parents=True, exist_ok=True)
joblib.dump(model, folder / "model.joblib")
shutil.copy(Path(__file__).with_name("score_gbm.py"), folder / "score.py")
# sys.executable: the interpreter running this step (the project venv), which has the packages.
card = {"score": [sys.executable, "score.py"], "features": features, "window": 1}
(folder / "model.json").write_text(json.dumps(card, indent=2) + "\n")
print(f"train_gbm: {len(features)} features, {best} of {max_iter} iterations")
