#!/usr/bin/env bash
# `split` on a wide table: 40,000 feature columns x 60 rows (issue 12: the scaler used to take
# each column out of the frame and put it back, quadratic in columns: 5 min 14 s). pmflow's
# split step (standard scaler fitted on train) vs pandas doing the same fit and transform.
# Puts a dated section and its headline row into BENCHMARKS.md (bench/figures.py). Env: PMFLOW_BIN (default: release build),
# BENCH_WIDE_COLUMNS (40000).
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
columns="${BENCH_WIDE_COLUMNS:-40000}"
out=bench/out/wide
rm -rf "$out" && mkdir -p "$out/data" "$out/pipelines"
python=$(bash bench/venv.sh bench-wide-venv pandas==3.1.1 numpy)
choose_pmflow

python3 - "$out/data/wide.csv" "$columns" <<'PY'
import sys, random
path, n = sys.argv[1], int(sys.argv[2])
random.seed(7)
with open(path, "w") as f:
    f.write("machine,t,failure," + ",".join(f"f{c}" for c in range(n)) + "\n")
    for r in range(60):
        values = ",".join(f"{random.gauss(c % 13, 1 + c % 5):.4f}" for c in range(n))
        f.write(f"m{r // 6},{r},{int(r % 3 == 0)},{values}\n")
PY
cat > "$out/pipelines/wide.yaml" <<'YAML'
name: wide-split
storage: {registry: "sqlite://registry.db", artifacts: "file://artifacts"}
steps:
  - {id: load, kind: load, with: {path: data/wide.csv, entity: machine, timestamp: t, label: failure}}
  - {id: split, kind: split, needs: [load], with: {by: entity, seed: 4, scaler: standard}}
YAML
"$pmflow" --progress quiet run "$out/pipelines/wide.yaml" --root "$out" > /dev/null
pm=$("$pmflow" runs show latest --registry "sqlite://$out/registry.db" --format json |
    python3 -c "import json,sys; r=json.load(sys.stdin); s={x['id']: x for x in r['steps']}['split']; w=r['metrics'].get('split.write_seconds', 0); t=s['duration_ms']/1000; print(f'{t:.3f} {w:.3f} {t - w:.3f}')")
pd=$("$python" - "$out/data/wide.csv" <<'PY'
import sys, time
import pandas as pd
frame = pd.read_csv(sys.argv[1])
features = frame.columns[3:]
train = frame["machine"].isin(sorted(frame["machine"].unique())[:6])
start = time.perf_counter()
mean = frame.loc[train, features].mean()
std = frame.loc[train, features].std(ddof=0)
scaled = (frame[features] - mean) / std
parts = [scaled[train], scaled[~train]]
print(time.perf_counter() - start)
PY
)
read -r pm_split pm_write pm_scale <<< "$pm"
section=$(cat <<MD
## Split on a wide table: $columns feature columns x 60 rows ($(date -u +%Y-%m-%d))

Command: \`bash bench/wide.sh\` (pmflow: $build). Machine: $(nproc) cores. pmflow's \`split\` step
(entity split, standard scaler fitted on train, three Parquet parts written) against pandas 3.1.1
fitting the same scaler on the train rows and transforming every row, in memory only. Before
issue 12 the same split took 5 min 14 s (the issue's measurement).

| tool | what | seconds |
|---|---|---|
| pmflow | split step, scaling and writing its three parts | $pm_split |
| pmflow | of which writing the parts | $pm_write |
| pmflow | the rest: assigning rows to parts, fitting and applying the scaler | $pm_scale |
| pandas 3.1.1 | fit on train, transform all (no writing) | $(printf '%.3f' "$pd") |

MD
)
put_section wide "$section"
pd=$(printf '%.3f' "$pd")
printf 'Split, %s columns x 60 rows: fit and apply the scaler\t%s s (%s s with writing its parts)\tpandas %s s (in memory)\t%s\n' \
    "$columns" "$pm_scale" "$pm_split" "$pd" "$(faster "$pm_scale" "$pd")" | put_results wide "bash bench/wide.sh"
