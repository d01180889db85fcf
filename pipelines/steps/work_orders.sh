#!/bin/sh
# Work orders from the `predict` step's `machines` table, a `kind: command` step in plain POSIX
# sh + awk (see pipelines/custom.yaml, which hands the table over as CSV: `input-format: csv`).
#
# In:  $PMFLOW_INPUT_MACHINES, CSV with a header: the entity column, the timestamp column (both
#      named as in the data), then score, alarm, risk.
# Out: $PMFLOW_OUTPUT_WORK_ORDERS_CSV: equipment_id,priority,score,raised_at for each machine at
#      risk `critical` (priority 1) or `warning` (priority 2), most urgent first; a metric line
#      `work_orders` in $PMFLOW_MESSAGES.
# Fields are split at commas: entity ids and timestamps must not hold one (quotes are dropped).
set -eu
: "${PMFLOW_INPUT_MACHINES:?no input named machines (inputs: [predict/machines])}"
: "${PMFLOW_OUTPUT_WORK_ORDERS_CSV:?no output named work_orders.csv}"
out=$PMFLOW_OUTPUT_WORK_ORDERS_CSV
rows="${PMFLOW_WORKDIR:-${TMPDIR:-/tmp}}/work_orders.rows"  # not a pipe: sh has no pipefail

# Columns by name: score and risk; the entity and timestamp columns are the first two others.
LC_ALL=C awk -F, -v OFS=, '
    { gsub(/\r$/, ""); gsub(/"/, "") }
    NR == 1 {
        for (i = 1; i <= NF; i++) {
            if ($i == "score") s = i
            else if ($i == "risk") r = i
            else if ($i != "alarm" && !e) e = i
            else if ($i != "alarm" && !t) t = i
        }
        if (!s || !r || !e || !t) { print "work_orders: header lacks score, risk, entity or time: " $0 > "/dev/stderr"; exit 2 }
        next
    }
    $r == "critical" { print $e, 1, $s, $t }
    $r == "warning"  { print $e, 2, $s, $t }
' "$PMFLOW_INPUT_MACHINES" > "$rows"

{
    echo "equipment_id,priority,score,raised_at"
    LC_ALL=C sort -t, -k2,2n -k3,3nr "$rows"   # priority, then the highest score first
} > "$out"
count=$(wc -l < "$rows" | tr -d ' ')
rm -f "$rows"
echo "{\"metric\": \"work_orders\", \"value\": $count}" >> "$PMFLOW_MESSAGES"
echo "work_orders: $count work orders"
