#!/usr/bin/env bash
# `bench/venv.sh NAME PACKAGES...`: a Python venv for a benchmark's peers, kept in the pmflow
# cache and rebuilt only when its package list changes. Prints the venv's python.
set -euo pipefail
name="$1"
shift
cache="${PMFLOW_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/pmflow}"
venv="$cache/$name"
packages="$*"
if [ "$(cat "$venv/.pmflow-packages" 2>/dev/null)" != "$packages" ]; then
    rm -rf "$venv"
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check "$@" >&2
    echo "$packages" > "$venv/.pmflow-packages"
fi
echo "$venv/bin/python"
