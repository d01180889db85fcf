# pmflow tasks. `just --list` shows them.

set shell := ["bash", "-euo", "pipefail", "-c"]

# Make everything needed to build and run (venv with libtorch, cache links), then build.
setup:
    bash scripts/setup.sh
    cargo build --locked

# Set up, then run the sample pipeline on the embedded defaults (SQLite + local artifacts).
train: setup
    target/debug/pmflow run pipelines/train.yaml

# Set up, then run the whole test suite (unit + integration, real SQLite and binary), after
# the format check and clippy (warnings are errors; functions over 100 lines fail, clippy.toml).
test: setup
    cargo fmt --check
    cargo clippy --locked --all-targets -- -D warnings
    cargo test --locked --all-targets

# Lints that CI's reviewers expect clean.
lint: setup
    cargo fmt --check
    cargo clippy --locked --all-targets -- -D warnings

# Benchmarks side by side with their peers: each script writes its headline rows to
# bench/results/ and its section to BENCHMARKS.md, whose table at the top is rebuilt from them
# (bench/figures.py); the sections they replace move to bench/history/.
bench: setup
    bash bench/run.sh
    bash bench/wide.sh
    bash bench/drift.sh
    bash bench/predict.sh
    bash bench/registry_pg.sh
    bash bench/smote_windows.sh
    bash bench/ml.sh
    bash bench/recipe.sh
    bash bench/command.sh

# Batch scoring only: pmflow predict vs a pandas + PyTorch script on 1,000,000 rows.
bench-predict: setup
    PMFLOW_BIN= bash bench/predict.sh

# Metric logging into PostgreSQL only: pmflow vs MLflow with a PostgreSQL backend store.
bench-registry: setup
    PMFLOW_BIN= bash bench/registry_pg.sh

# Only the modelling benchmarks (SMOTE on rows and on windows, LSTM throughput, quality).
bench-ml: setup
    bash bench/smote_windows.sh
    bash bench/ml.sh

# The recipe against its logistic-regression baseline on five sets x 10 seeds (about 25 minutes).
bench-recipe: setup
    bash bench/recipe.sh

# Measure the shipped pipelines (seed 42) and rewrite the README's table of figures.
readme-figures: setup
    bash bench/readme_figures.sh

# SMOTE on windows of 2,016 dimensions only: pmflow (release and dev) vs imbalanced-learn.
bench-smote: setup
    bash bench/smote_windows.sh
