#!/usr/bin/env bash
# The Python peers of the ML benchmarks: PyTorch 2.13.0 (the same libtorch version pmflow
# links), scikit-learn, imbalanced-learn, pandas. Prints the venv's python.
# Python's torch module links libtorch_cuda and with it every CUDA library, even to run on the
# CPU, and PyPI has no CPU-only wheel: this is the full 4.7 GB install (about 2 minutes), unlike
# the 1.2 GB that pmflow itself needs (scripts/setup.sh).
set -euo pipefail
exec bash "$(dirname "$0")/venv.sh" bench-ml-venv torch==2.13.0 numpy==2.4.6 scipy==1.17.1 scikit-learn==1.7.2 \
    imbalanced-learn==0.14.2 pandas==3.1.1 pyarrow==26.0.1
