#!/usr/bin/env bash
# What running a program as a `kind: command` step costs: a step whose program only copies its
# 1,000,000-row input table to its output (`cp`), against the same `cp` run by hand on the same
# file. The difference is pmflow's part: the working folder, the input linked, the context file,
# starting the program in its own process group, following its messages, reading the output back
# to check it (Parquet, role columns) and storing it as an artifact. Target: at most 0.5 s.
# Five rounds, the two alternating; medians. Puts a dated section and its headline row into
# BENCHMARKS.md (bench/figures.py). Env: PMFLOW_BIN (default: release build), BENCH_ROUNDS (5:
# anything else is a quick check that leaves BENCHMARKS.md as it was).
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
out=bench/out/command
rm -rf "$out" && mkdir -p "$out/data" "$out/pipelines"
choose_pmflow
rounds="${BENCH_ROUNDS:-5}"

# 100 machines x 10,000 hours: timestamp, equipment_id, 8 sensors, failure_event, failure_mode,
# failure.
"$pmflow" gen-data --progress quiet --equipment 100 --samples 10000 --interval 1h --seed 11 --out "$out/data/fleet.parquet"
# A string `run` goes through `sh -c`; the input is a link to load's artifact, which cp follows.
cat > "$out/pipelines/command.yaml" <<'YAML'
name: command-bench
storage: {registry: "sqlite://registry.db", artifacts: "file://artifacts"}
steps:
  - {id: load, kind: load, with: {path: data/fleet.parquet, timestamp: timestamp, entity: equipment_id}}
  - id: noop
    kind: command
    needs: [load]
    with:
      run: 'cp "$PMFLOW_INPUT_LOAD" "$PMFLOW_OUTPUT_FRAME"'
      outputs: {frame: table}
YAML
registry="sqlite://$out/registry.db"
show() { "$pmflow" runs show latest --registry "$registry" --format json; }
# The first run loads the table (then cached) and runs noop once, as a warm-up.
"$pmflow" --progress quiet run "$out/pipelines/command.yaml" --root "$out" > /dev/null
input=$(show | python3 -c "import json,sys; r=json.load(sys.stdin); print(next(a['uri'] for a in r['artifacts'] if a['step']=='load' and a['name']=='frame.parquet').removeprefix('file://'))")
rows=$(show | python3 -c "import json,sys; print(int(json.load(sys.stdin)['metrics']['load.rows']))")

: > "$out/pmflow.txt"; : > "$out/hand.txt"
for _ in $(seq "$rounds"); do
    start=$(date +%s.%N)
    "$pmflow" --progress quiet run "$out/pipelines/command.yaml" --root "$out" --force noop > /dev/null
    wall=$(python3 -c "print($(date +%s.%N) - $start)")
    # noop's duration as pmflow records it; write_seconds: storing its output table.
    show | python3 -c "
import json, sys
r = json.load(sys.stdin)
s = {x['id']: x for x in r['steps']}['noop']
if s['status'] != 'succeeded' or s['cached']:
    sys.exit(f\"bench-command: noop {s['status']}{' (cached)' if s['cached'] else ''}: {s.get('error')}\")
print(f\"{s['duration_ms'] / 1000} {r['metrics'].get('noop.write_seconds', 0)} $wall\")" >> "$out/pmflow.txt"
    # The same line the step runs, through sh as the step does, on the same file.
    rm -f "$out/by-hand.parquet"
    start=$(date +%s.%N)
    PMFLOW_INPUT_LOAD="$input" PMFLOW_OUTPUT_FRAME="$out/by-hand.parquet" sh -c 'cp "$PMFLOW_INPUT_LOAD" "$PMFLOW_OUTPUT_FRAME"'
    python3 -c "print($(date +%s.%N) - $start)" >> "$out/hand.txt"
done
cmp -s "$input" "$out/by-hand.parquet" || { echo "bench-command: the copy by hand differs from its input" >&2; exit 1; }
# Medians of each column; the overhead is the median of the rounds' differences.
read -r pm_step pm_write pm_wall hand overhead <<< "$(python3 - "$out/pmflow.txt" "$out/hand.txt" <<'PY'
import statistics, sys
pm = [list(map(float, l.split())) for l in open(sys.argv[1])]
hand = [float(l) for l in open(sys.argv[2])]
median = lambda xs: statistics.median(xs)
print(f"{median(r[0] for r in pm):.3f} {median(r[1] for r in pm):.3f} {median(r[2] for r in pm):.3f} "
      f"{median(hand):.3f} {median(r[0] - h for r, h in zip(pm, hand)):.3f}")
PY
)"
bytes=$(wc -c < "$input" | tr -d ' ')
met=$(python3 -c "print('met' if $overhead <= 0.5 else 'missed')")
section=$(cat <<MD
## Command step overhead: a no-op program on a ${rows}-row table ($(date -u +%Y-%m-%d))

Command: \`bash bench/command.sh\` (pmflow: $build). Machine: $(nproc) cores. A \`kind: command\`
step whose program is \`cp "\$PMFLOW_INPUT_LOAD" "\$PMFLOW_OUTPUT_FRAME"\` (a string: run by
\`sh -c\`) on the \`load\` step's table of a generated fleet (100 machines x 10,000 hours, 13
columns, $(python3 -c "print(f'{$bytes / 1e6:.1f}')") MB of Parquet), re-run with \`--force noop\`, against the same line run by
hand through \`sh -c\` on the same file. The step's time is its duration in the registry
(\`runs show --format json\`: working folder, input linked, context file, the program, the output
read back and checked, stored as an artifact). Medians of $rounds rounds, the two alternating.

| what | seconds |
|---|---|
| noop step, as pmflow records it | $pm_step |
| of which storing its output table (\`noop.write_seconds\`) | $pm_write |
| \`cp\` by hand | $hand |
| **overhead** (median of the rounds' step - by hand) | **$overhead** (target: at most 0.5 s, $met) |
| whole \`pmflow run --force noop\` (start-up, plan, cache check of \`load\`, recording) | $pm_wall |

MD
)
if [ "$rounds" != 5 ]; then
    echo "$section"
    echo "bench-command: a quick check ($rounds rounds): BENCHMARKS.md left as it was"
    exit 0
fi
put_section command "$section"
printf 'Command step overhead, no-op cp of a 1M-row table\t%s s step\tcp by hand %s s\t+%s s overhead (target 0.5 s: %s)\n' \
    "$pm_step" "$hand" "$overhead" "$met" | put_results command "bash bench/command.sh"
