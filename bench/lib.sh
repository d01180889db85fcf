# Shared by the benchmark scripts (source it): which binary to measure, and how a script puts
# its figures into BENCHMARKS.md (bench/figures.py).

# Sets `pmflow` to the binary to measure (PMFLOW_BIN, else a fresh release build) and `build`
# to how it was built, for the section's text.
choose_pmflow() {
    pmflow="${PMFLOW_BIN:-}"
    if [ -z "$pmflow" ]; then
        cargo build --release --locked --bin pmflow
        pmflow=target/release/pmflow
    fi
    case "$pmflow" in
        *release*) build="release build" ;;
        *) build="debug build (opt-level 1)" ;;
    esac
}

# Replaces benchmark $1's section of details in BENCHMARKS.md with the markdown section $2 (the
# replaced one moves to bench/history/$1.md), and prints it.
put_section() {
    printf '%s\n' "$2" | python3 bench/figures.py section "$1"
    echo "$2"
}

# Benchmark $1's headline rows, from stdin (`stage<TAB>pmflow<TAB>peer<TAB>ratio` lines), become
# bench/results/$1.tsv, dated today, with the command $2; the table at the top of BENCHMARKS.md
# is rebuilt from every results file.
put_results() {
    python3 bench/figures.py results "$1" "$2"
}

# "N.NNx faster" (pmflow's time $1 against the peer's $2) or "N.NNx slower".
faster() {
    python3 -c "import sys; p, q = map(float, sys.argv[1:]); print(f'{q / p:.2f}x faster' if q >= p else f'{p / q:.2f}x slower')" "$1" "$2"
}
