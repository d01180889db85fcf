#!/usr/bin/env bash
# Windowed SMOTE, the shape sequence models resample (part of `just bench-ml`; alone:
# `just bench-smote`): windows of 36 rows x 56 sensors = 2,016 dimensions, k=5, ratio 1.0,
# pmflow's `smote` step (`window: 36`) against imbalanced-learn's `fit_resample` on the same
# windows flattened (bench/smote_windows.py), in one run: 10,000 minority windows (three
# alternating rounds, medians) and 50,000 (one round: imbalanced-learn alone takes minutes).
# pmflow runs in the release build and in the dev profile `just train` uses.
# Section and headline rows: BENCHMARKS.md (bench/figures.py).
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
out=bench/out
mkdir -p "$out"
python=$(bash bench/ml_venv.sh)
# PMFLOW_BIN / PMFLOW_DEV_BIN pick the two binaries (default: release and dev builds made here).
release_bin="${PMFLOW_BIN:-}"
dev_bin="${PMFLOW_DEV_BIN:-}"
[ -n "$release_bin" ] || { cargo build --release --locked --bin pmflow; release_bin=target/release/pmflow; }
[ -n "$dev_bin" ] || { cargo build --locked --bin pmflow; dev_bin=target/debug/pmflow; }
machine="$(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(free -g | awk '/Mem:/{print $2}') GiB"
registry="sqlite://$out/smote-windows.db"

resample_seconds() { # BINARY DATA -> the step's in-memory time (frame in, resampled frame out)
    rm -rf "$out/smote-windows.db"* "$out/smote-windows-artifacts"
    "$1" --progress quiet run bench/smote_windows.yaml --root . --force --set "params.data=$2" \
        --set "storage.registry=$registry" --set "storage.artifacts=file://$out/smote-windows-artifacts" >/dev/null
    "$1" runs show latest --registry "$registry" --format json |
        python3 -c "import json,sys; print(json.load(sys.stdin)['metrics']['smote.resample_seconds'])"
}

rows=""
: > "$out/smote_windows_heads.tsv"
# NAME UNITS ROWS ROUNDS: every unit gives 50 minority windows (its last 50 rows are positive).
for shape in "10k 200 300 3" "50k 1000 150 1"; do
    read -r name units length rounds <<<"$shape"
    data="$out/smote_windows_$name.parquet"
    echo "bench-smote: $name minority windows"
    "$python" bench/smote_windows.py make "$data" "$units" "$length" 56 50 7
    release=(); dev=(); py=""
    for round in $(seq "$rounds"); do
        release+=("$(resample_seconds "$release_bin" "$data")")
        dev+=("$(resample_seconds "$dev_bin" "$data")")
        py+=$("$python" bench/smote_windows.py run "$data" 36 1.0 5 42)$'\n'
    done
    rows+=$(python3 - "${release[*]}" "${dev[*]}" "$py" "$out/smote_windows_heads.tsv" <<'PY'
import json, statistics, sys
release, dev = (statistics.median(float(v) for v in arg.split()) for arg in sys.argv[1:3])
runs = [json.loads(l) for l in sys.argv[3].splitlines() if l]
py = statistics.median(r["fit_resample"] for r in runs)
r = runs[0]
print(f"| {r['minority']:,} x {r['dim']:,} ({r['windows']:,} windows, {r['synthetic']:,} new) | {release:.2f} | {dev:.2f} "
      f"| {py:.2f} | **{release / py:.2f}x** | {dev / release:.2f}x |")
with open(sys.argv[4], "a") as heads:
    heads.write(f"SMOTE on windows, {r['minority']:,} minority x {r['dim']:,} dimensions\t{release:.2f} s\timbalanced-learn {py:.2f} s"
                f"\t{py / release:.2f}x faster\n")
PY
)$'\n'
    imblearn=$(echo "$py" | head -1 | python3 -c "import json,sys; print(json.load(sys.stdin)['imblearn'])")
done

put_results smote_windows "just bench-smote" < "$out/smote_windows_heads.tsv"
put_section smote_windows "## SMOTE on windows: 36 rows x 56 sensors = 2,016 dimensions ($(date +%F))

Command: \`just bench-smote\` (bench/smote_windows.sh; also in \`just bench-ml\`). Machine: $machine.
Peer: imbalanced-learn $imblearn \`SMOTE(k_neighbors=5, sampling_strategy=1.0).fit_resample\` on the
same windows flattened time-major, in the same run. pmflow: the \`smote\` step's
\`resample_seconds\` (input frame to resampled frame, neighbour search included), release build
and dev profile (what \`just train\` runs). 10,000: median of 3 alternating rounds; 50,000: one.
Target: pmflow at most 0.3x imbalanced-learn; the dev profile at most 2x release.

| minority windows x dimensions | pmflow release (s) | pmflow dev (s) | imbalanced-learn (s) | release / imbalanced-learn | dev / release |
|---|---|---|---|---|---|
${rows%$'\n'}"
