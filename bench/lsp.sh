#!/usr/bin/env bash
# bench/lsp.sh: how long `volley lsp` takes to check a generated 10,000-line `.load` file
# when it is opened and after each edit, against the goal of 100 ms after an edit.
#
#   VOLLEY=target/release/volley bench/lsp.sh [--lines N] [--edits N] [--runs N]
#
# Builds nothing: VOLLEY is the binary (default target/release/volley). bench/gen_large.py
# writes the file (and its data) to bench/results/lsp/; bench/lsp_client.py drives
# `volley lsp` over stdio like an editor (open, then edits one at a time, each awaited until
# its diagnostics arrive) and prints the first check and the per-edit median. With --runs N
# (default 3) the client runs N times and the medians of the runs' figures are printed.
# Results: stdout and bench/results/lsp.json. Sends no traffic.
set -euo pipefail

BENCH="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(dirname "$BENCH")"
OUT="$BENCH/results/lsp"
LINES=10000
EDITS=15
RUNS=3
while [ $# -gt 0 ]; do
  case "$1" in
    --lines | --edits | --runs)
      [ $# -ge 2 ] || { echo "$1 needs a number" >&2; exit 2; }
      declare "$(echo "${1#--}" | tr a-z A-Z)=$2"
      shift
      ;;
    -h | --help)
      sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'
      exit 0
      ;;
    *)
      echo "unknown argument: $1" >&2
      exit 2
      ;;
  esac
  shift
done

VOLLEY="${VOLLEY:-${CARGO_TARGET_DIR:-$ROOT/target}/release/volley}"
"$VOLLEY" --version >/dev/null 2>&1 || { echo "error: no working Volley binary at $VOLLEY (set VOLLEY=...)" >&2; exit 1; }

rm -rf "$OUT"
python3 "$BENCH/gen_large.py" --lines "$LINES" --out "$OUT" >&2
echo "load: $(cut -d' ' -f1-3 /proc/loadavg), binary: $VOLLEY" >&2
for r in $(seq 1 "$RUNS"); do
  echo "run $r of $RUNS" >&2
  timeout 600 python3 "$BENCH/lsp_client.py" "$VOLLEY" "$OUT/large.load" --edits "$EDITS" \
    --json "$OUT/run$r.json" >&2
done
python3 - "$OUT" "$RUNS" "$BENCH/results/lsp.json" <<'PY'
import json, statistics, sys
out, runs, dest = sys.argv[1], int(sys.argv[2]), sys.argv[3]
rs = [json.load(open(f"{out}/run{r}.json")) for r in range(1, runs + 1)]
first = statistics.median(r["first_check_ms"] for r in rs)
edit = statistics.median(r["edit_ms"]["median"] for r in rs)
worst = max(r["edit_ms"]["max"] for r in rs)
cpu = statistics.median(r["edit_cpu_ms"] for r in rs)
print(f"volley lsp, {rs[0]['lines']} lines, median of {runs} runs:")
print(f"  first check     {first:8.1f} ms")
print(f"  after an edit   {edit:8.1f} ms (median; slowest edit {worst:.1f} ms)  goal < 100 ms: "
      + ("met" if edit < 100 else "NOT met"))
print(f"  server CPU      {cpu:8.1f} ms per edit (average; wall time above includes waiting "
      "for a core on a busy machine)")
json.dump({"lines": rs[0]["lines"], "runs": rs, "first_check_ms": first,
           "edit_median_ms": edit, "edit_max_ms": worst, "edit_cpu_ms": cpu}, open(dest, "w"), indent=2)
print(f"results: {dest}")
PY
