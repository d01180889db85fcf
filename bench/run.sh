#!/usr/bin/env bash
# `just bench`: side by side, in one run on this machine, for the same 10-million-row fleet:
#   pmflow (release build) vs a Python-polars and a pandas script doing the same
#   load -> clean -> feature -> split (bench/feature_*.py); stage times and peak RSS.
# Sections (registry_sqlite, sensor_data) and headline rows (bench/results/run.tsv) go to
# BENCHMARKS.md with the command, machine and date (bench/figures.py).
# Options (env): BENCH_MACHINES (1000), BENCH_SAMPLES (10000 per machine), BENCH_SKIP_PANDAS=1,
# PMFLOW_BIN (default: a release build). A smaller fleet for a quick check needs enough failures
# for every split part to hold one (`split` refuses a part without): 200 x 5000 is enough.
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh

machines="${BENCH_MACHINES:-1000}"
samples="${BENCH_SAMPLES:-10000}"
out=bench/out
mkdir -p "$out"

python=$(bash bench/venv.sh bench-venv pandas==3.1.1 polars==2.1.0 pyarrow==26.0.1 numpy mlflow-skinny==3.17.2 sqlalchemy alembic)

choose_pmflow

echo "bench: metric logging, pmflow vs MLflow"
pm_metrics=$("$pmflow" bench-registry 10000 "sqlite://$out/metrics.db")
ml_metrics=$("$python" bench/log_metrics_mlflow.py 10000 "$out/mlflow" 2>/dev/null)
section=$(python3 - "$pm_metrics" "$ml_metrics" <<'PY'

import json, sys
pm, ml = json.loads(sys.argv[1]), json.loads(sys.argv[2])
cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
import os, datetime
print(f"""
## Registry: logging 10,000 metric points ({datetime.date.today()})

Command: `just bench` (bench/run.sh: `pmflow bench-registry` vs bench/log_metrics_mlflow.py). Machine: {os.cpu_count()} cores, {cpu}. Both into a fresh SQLite file.

| tool | how | points | seconds | points/s |
|---|---|---|---|---|
| pmflow | runner batching: a transaction per 5,000 points, INSERTs of 500 rows | {pm['points']} | {pm['seconds']:.3f} | {pm['points']/pm['seconds']:,.0f} |
| MLflow 3.17.2 | `log_batch`, 1,000 per call | {ml['points']} | {ml['log_batch']:.3f} | {ml['points']/ml['log_batch']:,.0f} |
| MLflow 3.17.2 | `log_metric`, one call per point | {ml['log_metric_points']} | {ml['log_metric']:.3f} | {ml['log_metric_points']/ml['log_metric']:,.0f} |
""")
PY
)
put_section registry_sqlite "$section"
heads=$(python3 - "$pm_metrics" "$ml_metrics" <<'PY'
import json, sys
pm, ml = json.loads(sys.argv[1]), json.loads(sys.argv[2])
print(f"Metric logging, SQLite, {pm['points']:,} points batched\t{pm['points']/pm['seconds']:,.0f} points/s"
      f"\tMLflow log_batch {ml['points']/ml['log_batch']:,.0f} points/s\t{ml['log_batch']/pm['seconds']:.0f}x faster")
PY
)

rss() { # peak RSS in MB of a command, from GNU time; "killed (…)" when it did not finish
    if /usr/bin/time -f "%M" -o "$out/rss.txt" "$@" > "$out/stdout.txt"; then
        echo $(( $(tail -n 1 "$out/rss.txt") / 1024 ))
    else
        echo "$(( $(tail -n 1 "$out/rss.txt") / 1024 )) (killed: $(head -n 1 "$out/rss.txt"))"
    fi
}

echo "bench: generating $machines machines x $samples samples"
start=$(date +%s.%N)
gen_rss=$(rss "$pmflow" --progress quiet gen-data --equipment "$machines" --samples "$samples" --interval 10m --seed 7 --out "$out/fleet.csv")
gen_secs=$(python3 -c "print(round($(date +%s.%N) - $start, 2))")
rows=$(($(wc -l < "$out/fleet.csv") - 1))

echo "bench: pmflow"
rm -rf "$out/registry.db"* "$out/artifacts" "$out/polars" "$out/pandas"
pm_rss=$(rss "$pmflow" --progress quiet run bench/pipeline.yaml --root . --force)
"$pmflow" runs show latest --registry "sqlite://$out/registry.db" --format json > "$out/pmflow.json"
# The same run again: every step a cache hit, its inputs and artifacts checked by digest.
start=$(date +%s.%N)
cached_rss=$(rss "$pmflow" --progress quiet run bench/pipeline.yaml --root .)
cached_secs=$(python3 -c "print(round($(date +%s.%N) - $start, 2))")
pm() { python3 -c "import json,sys; r=json.load(open('$out/pmflow.json')); print(next(s['duration_ms'] for s in r['steps'] if s['id']=='$1')/1000)"; }

echo "bench: python polars"
pl_rss=$(rss "$python" bench/feature_polars.py "$out/fleet.csv" "$out/polars")
tail -n 1 "$out/stdout.txt" > "$out/polars.json"
if [ "${BENCH_SKIP_PANDAS:-0}" != 1 ]; then
    echo "bench: pandas"
    pd_rss=$(rss "$python" bench/feature_pandas.py "$out/fleet.csv" "$out/pandas")
    tail -n 1 "$out/stdout.txt" > "$out/pandas.json"
else
    pd_rss=-; echo '{}' > "$out/pandas.json"
fi
py() { python3 -c "import json; print(json.load(open('$out/$1.json')).get('$2', float('nan')))"; }

gb() { # total size of the files that exist, in GB
    python3 -c "import os, sys; print(round(sum(os.path.getsize(f) for f in sys.argv[1:] if os.path.exists(f)) / 1e9, 2))" "$@"
}
line() { # label pmflow polars pandas; a peer that did not finish shows as n/a
    python3 -c "
import math, sys
n, p, l, d = sys.argv[1], *map(float, sys.argv[2:])
f = lambda x: 'n/a' if math.isnan(x) else f'{x:.2f}'
r = lambda x: 'n/a' if math.isnan(x) else f'{x / p:.1f}x'
print(f'| {n} | {f(p)} | {f(l)} | {f(d)} | {r(l)} | {r(d)} |')" "$@"
}
row() { line "$1" "$(pm "$1")" "$(py polars "$1")" "$(py pandas "$1")"; }
fs=$(python3 -c "
import json; r=json.load(open('$out/pmflow.json')); print(sum(s['duration_ms'] for s in r['steps'] if s['id'] in ('feature','split'))/1000)")
ls=$(python3 -c "import json; r=json.load(open('$out/polars.json')); print(r['feature']+r['split'])")
ds=$(python3 -c "import json; r=json.load(open('$out/pandas.json')); print(r.get('feature',float('nan'))+r.get('split',float('nan')))")
# The same two stages without writing their Parquet: pmflow's write_seconds metric (encoding,
# sha256, storage), the peers' timed write calls.
fs_nw=$(python3 -c "
import json; r=json.load(open('$out/pmflow.json')); m=r['metrics']
print($fs - m.get('feature.write_seconds', float('nan')) - m.get('split.write_seconds', float('nan')))")
nowrite() { python3 -c "
import json; r=json.load(open('$out/$1.json')); n=float('nan')
print(r.get('feature',n)+r.get('split',n)-r.get('write_feature',n)-r.get('write_split',n))"; }
ls_nw=$(nowrite polars)
ds_nw=$(nowrite pandas)

section=$({
    echo "## Sensor data: gen-data, load -> clean -> feature -> split ($(date -u +%Y-%m-%d))"
    echo
    echo "Command: \`just bench\` (bench/run.sh). Machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(free -g | awk '/Mem:/{print $2}') GiB."
    echo "Data: \`pmflow gen-data --equipment $machines --samples $samples --interval 10m\`: $rows rows x 8 sensors, written in ${gen_secs}s (peak RSS ${gen_rss} MB)."
    echo "Peers: Python polars 2.1.0 and pandas 3.1.1 scripts in bench/ doing the same work: each stage takes the previous stage's frame in memory and writes its own Parquet, as pmflow's steps do, with each library's default compression."
    echo
    echo "| stage | pmflow (s) | Python polars (s) | pandas (s) | polars / pmflow | pandas / pmflow |"
    echo "|---|---|---|---|---|---|"
    for s in load clean feature split; do row "$s"; done
    line "**feature + split**" "$fs" "$ls" "$ds"
    line "feature + split, without writing Parquet" "$fs_nw" "$ls_nw" "$ds_nw"
    echo
    echo "Peak RSS: pmflow ${pm_rss} MB, Python polars ${pl_rss} MB, pandas ${pd_rss} MB."
    echo "pmflow, the same run again with every step a cache hit: ${cached_secs} s (peak RSS ${cached_rss} MB)."
    echo "Parquet written by feature + split: pmflow $(gb "$out"/artifacts/*/*/feature/*.parquet "$out"/artifacts/*/*/split/*.parquet) GB (LZ4), Python polars $(gb "$out"/polars/{feature,train,val,test}.parquet) GB (zstd), pandas $(gb "$out"/pandas/{feature,train,val,test}.parquet) GB (snappy)."
})
put_section sensor_data "$section"
heads+=$'\n'$(python3 - "$(pm load)" "$(py polars load)" "$fs" "$ls" "$ds" "$rows" <<'PY'
import math, sys
load, pl_load, fs, ls, ds = map(float, sys.argv[1:6])
rows = f"{int(sys.argv[6]) / 1e6:g}M rows"
x = lambda p, q: "n/a" if math.isnan(q) else (f"{q / p:.2f}x faster" if q >= p else f"{p / q:.2f}x slower")
print(f"Sensor data, load, {rows}\t{load:.2f} s\tPython polars {pl_load:.2f} s\t{x(load, pl_load)}")
print(f"Sensor data, feature + split, {rows}\t{fs:.2f} s\tPython polars {ls:.2f} s\t{x(fs, ls)}")
if not math.isnan(ds):
    print(f"Sensor data, feature + split, {rows}\t{fs:.2f} s\tpandas {ds:.2f} s\t{x(fs, ds)}")
PY
)
echo "$heads" | put_results run "just bench"
