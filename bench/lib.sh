# Shared by the benchmark scripts that put their section first in BENCHMARKS.md (source it).

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

# Inserts the markdown section $1 after BENCHMARKS.md's introduction, above every older one,
# and prints it.
put_section_first() {
    python3 - "$1" <<'PY'
import sys
text = open("BENCHMARKS.md").read()
head, sep, rest = text.partition("\n## ")
open("BENCHMARKS.md", "w").write(head.rstrip("\n") + "\n\n" + sys.argv[1].strip() + "\n\n" + sep.lstrip("\n") + rest)
PY
    echo "$1"
}
