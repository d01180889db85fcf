#!/usr/bin/env bash
# The drift step on 18 features x 1,000,000 reference vs 1,000,000 current rows, against
# scipy.stats.ks_2samp over the same arrays read from the same Parquet files, in one run.
# Puts a dated section and its headline row into BENCHMARKS.md (bench/figures.py). Env: PMFLOW_BIN (default: release build).
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
out=bench/out/drift
rm -rf "$out" && mkdir -p "$out/data" "$out/pipelines"
python=$(bash bench/venv.sh bench-drift-venv scipy==1.17.1 numpy pyarrow==26.0.1)
choose_pmflow

"$python" - "$out/data" <<'PY'
import sys, numpy as np, pyarrow as pa, pyarrow.parquet as pq
rng = np.random.default_rng(7)
n, features = 1_000_000, 18
for name, shift in (("reference", 0.0), ("current", 0.02)):
    cols = {f"f{i}": rng.normal(shift * (i % 3), 1.0 + 0.1 * (i % 4), n) for i in range(features)}
    pq.write_table(pa.table(cols), f"{sys.argv[1]}/{name}.parquet")
PY
cat > "$out/pipelines/drift.yaml" <<'YAML'
name: drift-bench
storage: {registry: "sqlite://registry.db", artifacts: "file://artifacts"}
steps:
  - {id: reference, kind: load, with: {path: data/reference.parquet}}
  - {id: current, kind: load, with: {path: data/current.parquet}}
  - {id: drift, kind: drift, needs: [reference, current], with: {reference: reference/frame, current: current/frame, on-drift: continue}}
YAML
# Three rounds, pmflow and scipy alternating, so a busy moment on a shared machine hits both;
# each figure is the median of its three.
rounds=3
: > "$out/pmflow.txt"; : > "$out/scipy.txt"
for _ in $(seq $rounds); do
    rm -rf "$out/artifacts" "$out/registry.db"
    "$pmflow" --progress quiet run "$out/pipelines/drift.yaml" --root "$out" > /dev/null
    "$pmflow" runs show latest --registry "sqlite://$out/registry.db" --format json |
        python3 -c "import json,sys; r=json.load(sys.stdin); s={x['id']: x for x in r['steps']}['drift']; print(f\"{s['duration_ms']/1000:.2f} {r['metrics']['drift.compute_seconds']:.2f} {int(r['metrics']['drift.drifted_features'])}\")" >> "$out/pmflow.txt"
    "$python" - "$out/data" >> "$out/scipy.txt" <<'PY'
import sys, time, pyarrow.parquet as pq
from scipy import stats
start = time.perf_counter()
ref, cur = pq.read_table(f"{sys.argv[1]}/reference.parquet"), pq.read_table(f"{sys.argv[1]}/current.parquet")
read = time.perf_counter() - start
start = time.perf_counter()
for name in ref.column_names:
    stats.ks_2samp(ref[name].to_numpy(), cur[name].to_numpy())
print(f"{read:.2f} {time.perf_counter() - start:.2f}")
PY
done
median() { python3 -c "import statistics,sys; rows=[l.split() for l in open(sys.argv[1])]; print(' '.join(f'{statistics.median(float(r[k]) for r in rows):g}' for k in range(len(rows[0]))))" "$1"; }
read -r pm_step pm_compute pm_drifted <<< "$(median "$out/pmflow.txt")"
read -r sp_read sp_ks <<< "$(median "$out/scipy.txt")"
ratio=$(python3 -c "print(f'{$pm_step / ($sp_read + $sp_ks):.3f}')")
section=$(cat <<MD
## Drift: 18 features x 1,000,000 vs 1,000,000 rows ($(date -u +%Y-%m-%d))

Command: \`bash bench/drift.sh\` (pmflow: $build). Machine: $(nproc) cores. Normal columns, six of
them shifted by 0.02 or 0.04 standard deviations in the current table. pmflow's \`drift\` step (KS,
PSI and Wasserstein per feature, $pm_drifted drifted) against scipy 1.17.1 \`ks_2samp\` on each column,
both reading the same two Parquet files. Medians of $rounds rounds, the two tools alternating.

| tool | what | seconds |
|---|---|---|
| pmflow | whole drift step (tables in, report and picture out) | $pm_step |
| pmflow | of which the figures in memory (\`drift.compute_seconds\`) | $pm_compute |
| scipy 1.17.1 | reading the Parquet files | $sp_read |
| scipy 1.17.1 | \`ks_2samp\` on 18 columns (KS only) | $sp_ks |
| | pmflow's whole step / scipy's read + KS | ${ratio}x |

MD
)
put_section drift "$section"
printf 'Drift, 18 features x 1M vs 1M rows\t%s s (KS, PSI, Wasserstein)\tscipy ks_2samp %s s (read + KS)\t%s\n' \
    "$pm_step" "$(python3 -c "print(f'{$sp_read + $sp_ks:.2f}')")" "$(faster "$pm_step" "$(python3 -c "print($sp_read + $sp_ks)")")" |
    put_results drift "bash bench/drift.sh"
