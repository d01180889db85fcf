#!/usr/bin/env bash
# `just readme-figures`: regenerates the README's table of what the shipped pipelines reach
# (seed 42, every step run, a fresh registry), between its `figures` markers, so the figures
# are measured, never typed. PMFLOW_BIN picks the binary (default: a release build). A seeded
# run gives the same figures with either build profile and any core count (README, *Repeatable*).
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
choose_pmflow
out=bench/out/readme-figures
rm -rf "$out"
mkdir -p "$out"
rows=""
for entry in \
    "train.yaml|generated fleet, 230,400 rows, failure within 24 h, LSTM over 12 h" \
    "cmapss.yaml|C-MAPSS FD001, RUL <= 30 cycles, LSTM over 30 cycles" \
    "ai4i.yaml|AI4I 2020, tabular (window 1)"; do
    pipeline=${entry%%|*}
    data=${entry#*|}
    echo "readme-figures: $pipeline"
    start=$(date +%s.%N)
    "$pmflow" --progress quiet run "pipelines/$pipeline" --force --set params.seed=42 \
        --set "storage.registry=sqlite://$out/registry.db" --set "storage.artifacts=file://$out/artifacts" >/dev/null
    seconds=$(python3 -c "print(round($(date +%s.%N) - $start))")
    "$pmflow" runs show latest --registry "sqlite://$out/registry.db" --format json > "$out/run.json"
    rows+=$(python3 - "$out/run.json" "$pipeline" "$data" "$seconds" <<'PY'
import json, sys
m = json.load(open(sys.argv[1]))["metrics"]
e = lambda k: m[f"evaluate.{k}"]
print(f"| `{sys.argv[2]}` | {sys.argv[3]} | {e('windows'):,.0f} ({e('support'):,.0f}) | {e('precision'):.3f} | {e('recall'):.3f} "
      f"| {e('f1'):.3f} | {e('pr_auc'):.3f} | {e('baseline_pr_auc'):.3f} | {e('roc_auc'):.3f} | {100 * e('false_alarm_rate'):.1f}% | {sys.argv[4]} s |")
PY
)$'\n'
done
table="<!-- figures: made by \`just readme-figures\` (bench/readme_figures.sh) on $(date +%F), $build, $(nproc) cores; do not edit by hand -->

| pipeline | data | test windows (failures) | precision | recall | F1 | PR-AUC | baseline PR-AUC | ROC-AUC | false alarms | run time |
|---|---|---|---|---|---|---|---|---|---|---|
${rows%$'\n'}
<!-- /figures -->"
python3 - "$table" <<'PY'
import re, sys
text = open("README.md").read()
new, count = re.subn(r"<!-- figures:.*?<!-- /figures -->", lambda _: sys.argv[1], text, flags=re.S)
if count != 1:
    sys.exit("README.md has no <!-- figures: ... <!-- /figures --> block to replace")
open("README.md", "w").write(new)
PY
echo "$table"
