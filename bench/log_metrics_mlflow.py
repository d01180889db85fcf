"""MLflow side of the metric-logging benchmark: points into a fresh tracking store, logged in
batches of 1,000 (`log_batch`, MLflow's limit; N points) and one call at a time (`log_metric`;
min(N, 1000) points, as one call costs milliseconds). Prints seconds as JSON.
Usage: python log_metrics_mlflow.py N DIR (a SQLite file per mode in DIR)
       python log_metrics_mlflow.py N postgresql+psycopg2://USER@HOST:PORT/DB (one empty database)"""
import json, sys, tempfile, time
from pathlib import Path

import mlflow
from mlflow.entities import Metric
from mlflow.tracking import MlflowClient

n, where = int(sys.argv[1]), sys.argv[2]
result = {"points": n}
for mode in ("log_metric", "log_batch"):
    if "://" in where:
        # Both modes in one database, each in its own run (the schema is made on first use).
        uri = where
    else:
        base = Path(where)
        base.mkdir(parents=True, exist_ok=True)
        db = base / f"mlflow-{mode}.db"
        db.unlink(missing_ok=True)
        uri = f"sqlite:///{db}"
    client = MlflowClient(tracking_uri=uri)
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
