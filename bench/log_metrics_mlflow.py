"""MLflow side of the metric-logging benchmark: points into a fresh SQLite tracking store, logged
in batches of 1,000 (`log_batch`, MLflow's limit; N points) and one call at a time
(`log_metric`; min(N, 1000) points, as one call costs tens of milliseconds). Prints seconds as
JSON. Usage: python log_metrics_mlflow.py N DIR"""
import json, sys, tempfile, time
from pathlib import Path

import mlflow
from mlflow.entities import Metric
from mlflow.tracking import MlflowClient

n, base = int(sys.argv[1]), Path(sys.argv[2])
base.mkdir(parents=True, exist_ok=True)
result = {"points": n}
for mode in ("log_metric", "log_batch"):
    db = base / f"mlflow-{mode}.db"
    db.unlink(missing_ok=True)
    client = MlflowClient(tracking_uri=f"sqlite:///{db}")
    run = client.create_run(client.create_experiment(f"bench-{mode}"))
    started = time.perf_counter()
    if mode == "log_metric":
        result["log_metric_points"] = min(n, 1000)
        for i in range(min(n, 1000)):
            client.log_metric(run.info.run_id, "loss", 1.0 / (1 + i), step=i, timestamp=i)
    else:
        metrics = [Metric("loss", 1.0 / (1 + i), i, i) for i in range(n)]
        for k in range(0, n, 1000):
            client.log_batch(run.info.run_id, metrics=metrics[k:k + 1000])
    result[mode] = round(time.perf_counter() - started, 4)
print(json.dumps(result))
