#!/usr/bin/env bash
# The README's picture of a run report (scripts/report.png): the report of RUN (default: a
# fresh run of pipelines/train.yaml), rendered by Debian's headless Chromium.
# Usage: bash scripts/screenshot.sh [RUN]   (PMFLOW=path/to/pmflow to pick the binary)
set -euo pipefail
cd "$(dirname "$0")/.."
pmflow="${PMFLOW:-target/debug/pmflow}"
run="${1:-}"
if [ -z "$run" ]; then
    "$pmflow" --progress quiet run pipelines/train.yaml
    run=latest
fi
page="$PWD/target/report-screenshot.html"
"$pmflow" report "$run" --out "$page"
profile=$(mktemp -d)
trap 'rm -rf "$profile"' EXIT
chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
    --disable-background-networking --disable-component-update --disable-sync \
    --hide-scrollbars --window-size=1280,1900 --virtual-time-budget=5000 \
    --user-data-dir="$profile" --screenshot="$PWD/scripts/report.png" "file://$page" 2>/dev/null
echo "scripts/report.png: the report of run $run"
