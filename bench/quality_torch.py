"""The Python version of pmflow's modelling steps, for the quality benchmark: from the same
train/val/test parts that pmflow's `split` step wrote, imbalanced-learn SMOTE (on flattened
windows when window > 1), the same network in PyTorch with the same training settings:
pmflow's network (bench/peer_model.py, from the model card: with `skip`, started from the
logistic regression and kept unless an epoch beats it by `start-margin` standard errors), early
stopping on validation average precision (best weights kept), the threshold with the
best validation F1, and scikit-learn metrics on the test part.

Usage: python quality_torch.py RUN_SHOW.json SEED -> JSON line of test metrics
  RUN_SHOW.json: `pmflow runs show RUN --format json` of a run of the same pipeline (for the
  split parts' files, the resolved smote/train settings and the model card's feature list).
"""
import copy
import json
import sys
from urllib.parse import urlparse

import numpy as np
import pandas as pd
import torch
from imblearn.over_sampling import SMOTE
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import average_precision_score, confusion_matrix, f1_score, precision_recall_curve, roc_auc_score
from torch import nn

import peer_model  # bench/peer_model.py: pmflow's network in PyTorch

run = json.load(open(sys.argv[1]))
seed = int(sys.argv[2])
torch.manual_seed(seed)
np.random.seed(seed)
torch.set_num_threads(1)  # as pmflow's default


def artifact(step, name):
    a = next(a for a in run["artifacts"] if a["step"] == step and a["name"] == name)
    return urlparse(a["uri"]).path


pipeline = json.load(open(artifact("", "pipeline.json")))
settings = {s["kind"]: s.get("with", {}) for s in pipeline["steps"]}
# `train` was called `train-lstm` before; pipelines of either age.
smote, train_with = settings.get("smote", {}), settings.get("train", settings.get("train-lstm"))
card = json.load(open(artifact("train", "model_card.json")))
features, label, entity, window = card["features"], card["label"], card["entity"], card["window"]
split_step = next(s["id"] for s in pipeline["steps"] if s["kind"] == "split")


def windows(frame):
    """(row matrix, window end rows, labels) with windows inside one entity, as pmflow does."""
    x = frame[features].to_numpy(np.float32)
    y = frame[label].to_numpy()
    keys = frame[entity].to_numpy() if entity and window > 1 else np.zeros(len(frame))
    starts = np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]])
    bounds = np.r_[starts, len(frame)]
    ends = np.concatenate([np.arange(s + window - 1, e) for s, e in zip(bounds[:-1], bounds[1:]) if e - s >= window])
    return x, ends, y[ends].astype(np.float32)


def stack(x, ends):
    offsets = np.arange(window) - (window - 1)
    return x[ends[:, None] + offsets]  # [windows, window, features]


parts = {p: pd.read_parquet(artifact(split_step, f"{p}.parquet")) for p in ("train", "val", "test")}
data = {}
for p, frame in parts.items():
    x, ends, y = windows(frame)
    data[p] = (stack(x, ends), y, ends)

# SMOTE on the training windows only (flattened, resampled, reshaped).
xtr, ytr, _ = data["train"]
if smote:
    flat = xtr.reshape(len(xtr), -1)
    sm = SMOTE(sampling_strategy=float(smote.get("ratio", 1.0)), k_neighbors=int(smote.get("k-neighbors", 5)), random_state=seed)
    flat, ytr = sm.fit_resample(flat.astype(np.float64), ytr.astype(np.int64))
    xtr, ytr = flat.reshape(-1, window, len(features)).astype(np.float32), ytr.astype(np.float32)

# pmflow's network from the card (bench/peer_model.py): the same kind, sizes and skip path.
arch = card["architecture"]
model = peer_model.classifier(arch)
pos_weight = train_with.get("pos-weight")
if pos_weight == "auto":
    pos_weight = float((ytr == 0).sum() / max((ytr == 1).sum(), 1))
start_competes = False
if arch.get("skip", False) or arch.get("kind", "lstm") == "linear":
    # As `train`: the logistic regression on the training windows' last rows (C = 1,
    # positives weighted as the network's loss weights them) is where the network starts; the
    # start then competes with the epochs and is kept unless one beats it by `start-margin`
    # standard errors of validation PR-AUC.
    weights = np.where(ytr == 1, float(pos_weight or 1.0), 1.0)
    baseline = LogisticRegression(C=1.0, max_iter=1000).fit(xtr[:, -1].astype(np.float64), ytr, sample_weight=weights)
    peer_model.start_from_linear(model, baseline.coef_[0], baseline.intercept_[0])
    start_competes = True
optimizer = torch.optim.Adam(model.parameters(), lr=float(train_with.get("lr", 1e-3)),
                             weight_decay=float(train_with.get("weight-decay", 0.0)))
loss_fn = nn.BCEWithLogitsLoss(pos_weight=torch.tensor([float(pos_weight)]) if pos_weight else None)
batch, epochs = int(train_with.get("batch-size", 64)), int(train_with.get("epochs", 20))
patience, clip = int(train_with.get("patience", 5)), float(train_with.get("clip-norm", 1.0))
xtr_t, ytr_t = torch.from_numpy(xtr), torch.from_numpy(ytr)


def scores(x):
    model.eval()
    with torch.no_grad():
        return torch.cat([torch.sigmoid(model(torch.from_numpy(x[i:i + 4096]))) for i in range(0, len(x), 4096)]).numpy()


def one_standard_error(ap, labels):
    """pmflow's one_standard_error: sqrt(ap (1 - ap) / failure events), consecutive positive
    windows (of one machine) counting as one event."""
    yv, ends = labels, data["val"][2]
    events = sum(1 for i in range(len(yv)) if yv[i] == 1 and not (i > 0 and yv[i - 1] == 1 and ends[i - 1] + 1 == ends[i]))
    return (ap * (1 - ap) / max(events, 1)) ** 0.5


best, best_ap, best_epoch, margin = None, -1.0, 0, 0.0
if start_competes:
    best_ap = average_precision_score(data["val"][1], scores(data["val"][0]))
    best = copy.deepcopy(model.state_dict())
    margin = float(train_with.get("start-margin", 1.0)) * one_standard_error(best_ap, data["val"][1])
if arch.get("kind", "lstm") == "linear":
    epochs = 0  # the model is the baseline itself: nothing to train
for epoch in range(1, epochs + 1):
    model.train()
    order = torch.randperm(len(xtr_t))
    for start in range(0, len(order), batch):
        picks = order[start:start + batch]
        loss = loss_fn(model(xtr_t[picks]), ytr_t[picks])
        optimizer.zero_grad()
        loss.backward()
        if clip > 0:
            nn.utils.clip_grad_norm_(model.parameters(), clip)
        optimizer.step()
    ap = average_precision_score(data["val"][1], scores(data["val"][0]))
    if ap > best_ap + (margin if best_epoch == 0 else 0.0):
        best, best_ap, best_epoch = copy.deepcopy(model.state_dict()), ap, epoch
    elif epoch - best_epoch >= patience:
        break
model.load_state_dict(best)

# Threshold: the best F1 on validation.
precision, recall, thresholds = precision_recall_curve(data["val"][1], scores(data["val"][0]))
f1 = 2 * precision * recall / np.maximum(precision + recall, 1e-12)
threshold = thresholds[np.argmax(f1[:-1])]

ytest, stest = data["test"][1], scores(data["test"][0])
tn, fp, fn, tp = confusion_matrix(ytest, stest >= threshold, labels=[0, 1]).ravel()
print(json.dumps({"seed": seed, "f1": f1_score(ytest, stest >= threshold), "pr_auc": average_precision_score(ytest, stest),
                  "roc_auc": roc_auc_score(ytest, stest), "false_alarm_rate": fp / (fp + tn), "best_epoch": best_epoch,
                  "threshold": float(threshold), "windows": int(len(ytest))}))
