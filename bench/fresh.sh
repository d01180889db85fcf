#!/usr/bin/env bash
# What the README's two commands cost on a fresh machine: a new clone of this repository, an
# empty pmflow cache and an empty cargo home (crates downloaded and `just` installed again).
# Prints the seconds of each command; logs go to the work folder. Takes 25+ minutes on 2 cores.
# Usage: bash bench/fresh.sh [WORK_DIR]   (default: a new temporary folder)
set -uo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
work="${1:-$(mktemp -d)}"
toolchain="$(dirname "$(rustup which cargo)")"
rm -rf "$work/clone" "$work/cache" "$work/cargo"
git clone -q "$repo" "$work/clone" && cd "$work/clone" || exit 1
export PMFLOW_CACHE="$work/cache" CARGO_HOME="$work/cargo"
export PATH="$work/cargo/bin:$toolchain:/usr/local/bin:/usr/bin:/bin"
echo "fresh: $(nproc) cores, logs in $work"
for task in train test; do
    start=$(date +%s)
    (command -v just >/dev/null || cargo install --locked just) > "$work/$task.log" 2>&1 &&
        just "$task" >> "$work/$task.log" 2>&1
    echo "fresh: command $task exit $? in $(( $(date +%s) - start )) s"
done
