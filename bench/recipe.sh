#!/usr/bin/env bash
# Does the shipped recipe beat its logistic-regression baseline on data it was not tuned on?
# `just bench-recipe`: five sets, BENCH_SEEDS seeds each (default 1-10), every run's test
# PR-AUC for the model (`evaluate.pr_auc`) and for the baseline fitted in the same run on the
# same windows (`evaluate.baseline_pr_auc`); mean and standard deviation per set:
#   fd001       pipelines/cmapss.yaml (C-MAPSS FD001, run to failure)
#   fd001-cut   bench/recipe/fd001_cut.yaml (FD001's test engines, cut before failure: short
#               series, 1.7% positives)
#   ai4i        pipelines/ai4i.yaml (tabular, 3.4% failures)
#   fleet       pipelines/train.yaml (the generated fleet it ships with)
#   fleet-rare  pipelines/train.yaml on a fleet generated with 2 failures per machine-year
# On fd001 and ai4i each run is also repeated by bench/quality_torch.py (imbalanced-learn +
# PyTorch, pmflow's network from the same split parts) for the parity column; RECIPE_PEER=0 skips it.
# RECIPE_SET adds `--set` overrides to every run (to try a change: RECIPE_SET="train.with.model=gru"),
# RECIPE_LABEL names the configuration in the section, RECIPE_ONLY="fd001 ai4i" runs only those
# sets. The section goes to BENCHMARKS.md (the one it replaces to bench/history/recipe.md), the
# shipped defaults' PR-AUCs to its table; every run's figures are in bench/out/recipe.jsonl.
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
out=bench/out
mkdir -p "$out"
seeds="${BENCH_SEEDS:-1 2 3 4 5 6 7 8 9 10}"
label="${RECIPE_LABEL:-shipped defaults}"
python=$(bash bench/ml_venv.sh)
choose_pmflow
[ -f "$out/fd001_cut.csv" ] || "$python" bench/recipe/fd001_cut.py "$out/fd001_cut.csv"
[ -f "$out/fleet_rare.csv" ] || "$pmflow" --progress quiet gen-data --equipment 80 --days 120 --interval 1h \
    --failure-rate 2 --seed 11 --out "$out/fleet_rare.csv"
extra=()
for s in ${RECIPE_SET:-}; do extra+=(--set "$s"); done
registry="$out/recipe-registry.db"
rm -rf "$registry"* "$out/recipe-artifacts"
store=(--set "storage.registry=sqlite://$registry" --set "storage.artifacts=file://$out/recipe-artifacts")
results="$out/recipe.jsonl"
: > "$results"
run_set() { # NAME PIPELINE [--set ...]
    local name=$1 pipeline=$2
    shift 2
    if [ -n "${RECIPE_ONLY:-}" ] && [[ " $RECIPE_ONLY " != *" $name "* ]]; then
        return
    fi
    for seed in $seeds; do
        echo "bench-recipe: $name seed $seed"
        if ! "$pmflow" --progress quiet run "$pipeline" --root . "${store[@]}" "$@" "${extra[@]}" --set "params.seed=$seed" \
            > "$out/recipe_run.log" 2>&1; then
            echo "{\"data\": \"$name\", \"seed\": $seed, \"failed\": $(python3 -c 'import json,sys; print(json.dumps(open(sys.argv[1]).read()[-300:]))' "$out/recipe_run.log")}" >> "$results"
            continue
        fi
        "$pmflow" runs show latest --registry "sqlite://$registry" --format json > "$out/recipe_run.json"
        peer='{}'
        if [ "${RECIPE_PEER:-1}" != 0 ] && [[ " fd001 ai4i " == *" $name "* ]]; then
            peer=$("$python" bench/quality_torch.py "$out/recipe_run.json" "$seed")
        fi
        python3 -c "
import json, sys
m = json.load(open(sys.argv[3]))['metrics']
peer = json.loads(sys.argv[4])
print(json.dumps({'data': sys.argv[1], 'seed': int(sys.argv[2]), 'model': m['evaluate.pr_auc'], 'baseline': m['evaluate.baseline_pr_auc'],
                  'f1': m['evaluate.f1'], 'baseline_f1': m['evaluate.baseline_f1'], 'peer': peer.get('pr_auc')}))" \
            "$name" "$seed" "$out/recipe_run.json" "$peer" >> "$results"
    done
}
run_set fd001 pipelines/cmapss.yaml
run_set fd001-cut bench/recipe/fd001_cut.yaml
run_set ai4i pipelines/ai4i.yaml
run_set fleet pipelines/train.yaml
run_set fleet-rare pipelines/train.yaml --set "load.with.path=$out/fleet_rare.csv"

table=$(python3 - "$results" <<'PY'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
sd = lambda v: statistics.stdev(v) if len(v) > 1 else 0.0
ms = lambda v: f"{statistics.mean(v):.3f} ± {sd(v):.3f}"
print("| data | runs | model PR-AUC | baseline PR-AUC | lift (model - baseline) | model F1 | baseline F1 | model >= baseline | imbalanced-learn + PyTorch PR-AUC |")
print("|---|---|---|---|---|---|---|---|---|")
for data in dict.fromkeys(r["data"] for r in rows):
    ok = [r for r in rows if r["data"] == data and "model" in r]
    failed = sum(1 for r in rows if r["data"] == data and "failed" in r)
    if not ok:
        print(f"| {data} | 0 ({failed} failed) | | | | | | | |")
        continue
    m, b = [r["model"] for r in ok], [r["baseline"] for r in ok]
    lift = [x - y for x, y in zip(m, b)]
    runs = f"{len(ok)}" + (f" ({failed} failed)" if failed else "")
    verdict = "yes" if statistics.mean(m) >= statistics.mean(b) else "**no**"
    peer = [r["peer"] for r in ok if r.get("peer") is not None]
    print(f"| {data} | {runs} | {ms(m)} | {ms(b)} | {ms(lift)} | {ms([r['f1'] for r in ok])} | {ms([r['baseline_f1'] for r in ok])} | {verdict} "
          f"| {ms(peer) if peer else '-'} |")
PY
)
# Only the shipped defaults are headline figures; a trial (RECIPE_SET) is a section of its own.
if [ -z "${RECIPE_SET:-}" ] && [ -z "${RECIPE_ONLY:-}" ]; then
    python3 - "$results" <<'PY' | put_results recipe "just bench-recipe"
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
for data in dict.fromkeys(r["data"] for r in rows):
    ok = [r for r in rows if r["data"] == data and "model" in r]
    if not ok:
        continue
    m, b = statistics.mean(r["model"] for r in ok), statistics.mean(r["baseline"] for r in ok)
    peer = [r["peer"] for r in ok if r.get("peer") is not None]
    peer_cell = f"imbalanced-learn + PyTorch {statistics.mean(peer):.3f}; " if peer else ""
    print(f"Test PR-AUC, {data} ({len(ok)} seeds)\t{m:.3f}\t{peer_cell}logistic regression {b:.3f}\t{m - b:+.3f} over the regression")
PY
fi
put_section recipe "## Recipe against its baseline: $label ($(date +%F))

Command: \`just bench-recipe\` (bench/recipe.sh)${RECIPE_SET:+ with \`RECIPE_SET=\"$RECIPE_SET\"\`}, $build, seeds $seeds.
Test PR-AUC of the model and of the logistic-regression baseline fitted in the same run on the
last rows of the same windows; mean ± standard deviation over the seeds. Target: the model's mean
at least the baseline's on every set. Last column: bench/quality_torch.py (imbalanced-learn SMOTE
and pmflow's network in PyTorch, bench/peer_model.py, started from scikit-learn's logistic
regression as pmflow starts) on the same split parts and seeds.

$table"
