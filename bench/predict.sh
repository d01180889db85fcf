#!/usr/bin/env bash
# `just bench` (batch scoring): `pmflow predict` against bench/predict_torch.py, a pandas +
# PyTorch script that does the same preparation, windows and forward passes, on 1,000,000 rows
# of a generated fleet (100 machines x 10,000 hours) with the model bench/predict.yaml trains.
# Both read the CSV, score every window (998,586) and write one score per window as CSV.
# Three rounds, the two alternating; medians. Their scores are compared window by window.
# The headline row goes to bench/results/predict.tsv, the details to BENCHMARKS.md.
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
choose_pmflow
python=$(bash bench/ml_venv.sh)
out=bench/out
mkdir -p "$out"
[ -f "$out/predict-train.csv" ] || "$pmflow" gen-data --progress quiet --equipment 30 --days 60 --interval 1h --seed 7 --out "$out/predict-train.csv"
# BENCH_PREDICT_SAMPLES (rows per machine, default 10000) and BENCH_ROUNDS (3) make a quick
# check of the script; the figures in BENCHMARKS.md are from the defaults.
samples="${BENCH_PREDICT_SAMPLES:-10000}"
rounds="${BENCH_ROUNDS:-3}"
score_csv="$out/predict-score.csv"
[ "$samples" = 10000 ] || score_csv="$out/predict-score-$samples.csv"
[ -f "$score_csv" ] || "$pmflow" gen-data --progress quiet --equipment 100 --samples "$samples" --interval 1h --seed 11 --out "$score_csv"
rm -rf "$out/predict-registry.db"* "$out/predict-artifacts"
"$pmflow" --progress quiet run bench/predict.yaml --root . > /dev/null
registry="sqlite://$out/predict-registry.db"
model_dir=$("$pmflow" runs show latest --registry "$registry" --format json |
    python3 -c "import json,sys,os; r=json.load(sys.stdin); print(os.path.dirname(next(a['uri'] for a in r['artifacts'] if a['name']=='model_card.json')).removeprefix('file://'))")

: > "$out/predict-pm.txt"; : > "$out/predict-py.txt"
for _ in $(seq "$rounds"); do
    start=$(date +%s.%N)
    "$pmflow" predict --registry "$registry" --model latest --data "$score_csv" --at all \
        --out "$out/predict-pm.csv" --format json > "$out/predict-pm.json"
    wall=$(python3 -c "print($(date +%s.%N) - $start)")
    python3 - "$out/predict-pm.json" "$wall" >> "$out/predict-pm.txt" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))["summary"]
t = s["seconds"]
print(f"{sys.argv[2]} {t['prepare']} {t['windows'] + t['score']} {s['windows']}")
PY
    start=$(date +%s.%N)
    "$python" bench/predict_torch.py "$model_dir" "$score_csv" "$out/predict-py.csv" 2 > "$out/predict-py.json"
    wall=$(python3 -c "print($(date +%s.%N) - $start)")
    python3 - "$out/predict-py.json" "$wall" >> "$out/predict-py.txt" <<'PY'
import json, sys
r = json.loads(open(sys.argv[1]).read().splitlines()[-1])
print(f"{sys.argv[2]} {r['read'] + r['prepare']} {r['windows_and_forward']} {r['windows']} {r['total']}")
PY
done
median() { python3 -c "import statistics,sys; rows=[l.split() for l in open(sys.argv[1])]; print(' '.join(f'{statistics.median(float(r[k]) for r in rows):.2f}' for k in range(len(rows[0]))))" "$1"; }
read -r pm_wall pm_prepare pm_forward pm_windows <<< "$(median "$out/predict-pm.txt")"
read -r py_wall py_prepare py_forward py_windows py_total <<< "$(median "$out/predict-py.txt")"
agreement=$("$python" - "$out/predict-pm.csv" "$out/predict-py.csv" <<'PY'
import sys, pandas as pd
a, b = (pd.read_csv(f, usecols=["equipment_id", "timestamp", "score"]) for f in sys.argv[1:3])
for f in (a, b):
    f["timestamp"] = pd.to_datetime(f["timestamp"])
m = a.merge(b, on=["equipment_id", "timestamp"], how="outer", suffixes=("_pm", "_py"), indicator=True)
both = m["_merge"] == "both"
print(f"{int(both.sum())} {int((~both).sum())} {(m.loc[both, 'score_pm'] - m.loc[both, 'score_py']).abs().max():.1e}")
PY
)
read -r same only_one max_diff <<< "$agreement"
# Timings of two tools that scored differently compare nothing.
if [ "$only_one" != 0 ] || python3 -c "import sys; sys.exit(float(sys.argv[1]) <= 1e-4)" "$max_diff"; then
    echo "bench-predict: the scores disagree ($same windows in both, $only_one in one only, largest difference $max_diff)" >&2
    exit 1
fi
speedup=$(python3 -c "print(f'{$py_wall / $pm_wall:.2f}')")
throughput() { python3 -c "print(f'{$1 / $2:,.0f}')"; }
section=$(cat <<MD
## Batch scoring: 1,000,000 rows, every window (${pm_windows%.*}), LSTM 66 features x 12 steps, hidden 32 ($(date -u +%Y-%m-%d))

Command: \`bash bench/predict.sh\` (pmflow: $build). Machine: $(nproc) cores, both tools with 2
threads. \`pmflow predict --at all --out scores.csv\` against bench/predict_torch.py (pandas 3.1.1 +
PyTorch 2.13.0: the same clean and feature steps, the card's scaler, sliding windows, pmflow's
network in PyTorch (bench/peer_model.py: \`nn.LSTM\`, head and skip path) in batches of 1024, the
fastest it was measured at), each reading the same CSV and writing one
score per window as CSV. Medians of $rounds rounds, the two alternating. Wall time is the whole
process (start-up, model, read, prepare, score, write).

| tool | wall s | windows / s | read + prepare s | windows + forward s |
|---|---|---|---|---|
| pmflow | $pm_wall | $(throughput "$pm_windows" "$pm_wall") | $pm_prepare | $pm_forward |
| PyTorch script | $py_wall | $(throughput "$py_windows" "$py_wall") | $py_prepare | $py_forward |
| | **${speedup}x** pmflow's throughput | | | |

Scores agree: $same windows in both, $only_one in one only, largest difference $max_diff.
pmflow projects each row through the LSTM's first layer once for the 12 windows it sits in and
splits the windows between the cores; the script's own total without its start-up (imports,
model) is $py_total s.

MD
)
if [ "$samples" != 10000 ] || [ "$rounds" != 3 ]; then
    echo "$section"
    echo "bench-predict: a quick check ($samples rows per machine, $rounds rounds): BENCHMARKS.md left as it was"
    exit 0
fi
put_section predict "$section"
printf 'Batch scoring, 1M rows (every window, LSTM)\t%s s\tpandas + PyTorch script %s s\t%s\n' "$pm_wall" "$py_wall" "$(faster "$pm_wall" "$py_wall")" |
    put_results predict "just bench-predict"
