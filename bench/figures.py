"""BENCHMARKS.md's two generated parts, so the file reads as where pmflow stands today:

- the table at the top (between `<!-- figures` and `<!-- /figures -->`): every headline row of
  bench/results/*.tsv, one file per benchmark script, rebuilt whenever one changes;
- one section of details per benchmark below it (from `<!-- bench: NAME -->` to the next such
  marker); a new run replaces its benchmark's section, and the replaced one moves to the top of
  bench/history/NAME.md, which keeps every older run and experiment.

Usage (from the repository root; bench/lib.sh wraps both):
  python3 bench/figures.py results NAME COMMAND < ROWS   ROWS: `stage<TAB>pmflow<TAB>peer<TAB>ratio`
                                                        lines; dated today
  python3 bench/figures.py section NAME < SECTION        SECTION: markdown starting with `## `
  python3 bench/figures.py table                         rebuild the table only
"""
import datetime
import re
import sys
from pathlib import Path

BENCHMARKS = Path("BENCHMARKS.md")
RESULTS = Path("bench/results")
HISTORY = Path("bench/history")
# The table's order: the order `just bench` runs the scripts in.
ORDER = ["run", "wide", "drift", "predict", "registry_pg", "smote_windows", "ml", "recipe", "command"]
COLUMNS = ["stage", "pmflow", "peer", "ratio", "date", "command"]


def read_results(name):
    lines = (RESULTS / f"{name}.tsv").read_text().splitlines()
    return [dict(zip(COLUMNS, line.split("\t"))) for line in lines[1:] if line.strip()]


def table():
    names = sorted((p.stem for p in RESULTS.glob("*.tsv")), key=lambda n: (ORDER.index(n) if n in ORDER else len(ORDER), n))
    rows = [row for name in names for row in read_results(name)]
    lines = [
        "<!-- figures: made by bench/figures.py from bench/results/*.tsv (each benchmark script writes its own); do not edit by hand -->",
        "",
        "| stage | pmflow | peer | ratio | date | command |",
        "|---|---|---|---|---|---|",
    ]
    lines += [f"| {r['stage']} | {r['pmflow']} | {r['peer']} | {r['ratio']} | {r['date']} | `{r['command']}` |" for r in rows]
    lines.append("<!-- /figures -->")
    text = BENCHMARKS.read_text()
    new, count = re.subn(r"<!-- figures:.*?<!-- /figures -->", lambda _: "\n".join(lines), text, flags=re.S)
    if count != 1:
        sys.exit("BENCHMARKS.md has no <!-- figures: ... <!-- /figures --> block to replace")
    BENCHMARKS.write_text(new)


def results(name, command):
    today = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d")
    rows = [line.rstrip("\n").split("\t") for line in sys.stdin if line.strip()]
    for row in rows:
        if len(row) != 4:
            sys.exit(f"figures.py results {name}: a row needs 4 tab-separated fields (stage, pmflow, peer, ratio): {row}")
    RESULTS.mkdir(parents=True, exist_ok=True)
    body = "".join("\t".join(row + [today, command]) + "\n" for row in rows)
    (RESULTS / f"{name}.tsv").write_text("\t".join(COLUMNS) + "\n" + body)
    table()


def section(name):
    new = sys.stdin.read().strip()
    marker = f"<!-- bench: {name} -->"
    text = BENCHMARKS.read_text()
    parts = re.split(r"(?m)^(?=<!-- bench: )", text)
    old = next((p for p in parts if p.startswith(marker)), None)
    if old is None:
        # A benchmark's first section: after the others.
        BENCHMARKS.write_text(text.rstrip("\n") + f"\n\n{marker}\n\n{new}\n")
        return
    HISTORY.mkdir(parents=True, exist_ok=True)
    history = HISTORY / f"{name}.md"
    kept = history.read_text() if history.exists() else f"# History: {name}\n\nOlder runs and experiments of this benchmark, newest first.\n"
    head, sep, rest = kept.partition("\n## ")
    old_body = old[len(marker):].strip()
    history.write_text(head.rstrip("\n") + "\n\n" + old_body + "\n\n" + (sep.lstrip("\n") + rest if sep else ""))
    BENCHMARKS.write_text(text.replace(old, f"{marker}\n\n{new}\n\n", 1).rstrip("\n") + "\n")


if __name__ == "__main__":
    what = sys.argv[1] if len(sys.argv) > 1 else ""
    if what == "results" and len(sys.argv) == 4:
        results(sys.argv[2], sys.argv[3])
    elif what == "section" and len(sys.argv) == 3:
        section(sys.argv[2])
    elif what == "table" and len(sys.argv) == 2:
        table()
    else:
        sys.exit(__doc__)
