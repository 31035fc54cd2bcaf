#!/usr/bin/env bash
# bench/compile.sh: how long `volley check` (and `volley lint`, once it exists) takes on a
# generated 10,000-line `.load` file, against SPEC §8's goal of 0.5 s.
#
#   bench/compile.sh [--lines N] [--no-build]
#
# bench/gen_large.py writes the file (and its data) to bench/results/large/; the median wall
# time comes from hyperfine (installed with apt if missing) or, failing that, from 5 runs
# under /usr/bin/time. Results: stdout and bench/results/compile.json. Sends no traffic.
# Environment override: VOLLEY (binary).
set -euo pipefail

BENCH="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(dirname "$BENCH")"
RESULTS="$BENCH/results"
OUT="$RESULTS/large"
GOAL_S=0.5
LINES=10000
NO_BUILD=0
while [ $# -gt 0 ]; do
  case "$1" in
    --lines)
      [ $# -ge 2 ] || { echo "--lines needs a number" >&2; exit 2; }
      LINES="$2"
      shift
      ;;
    --no-build) NO_BUILD=1 ;;
    -h | --help)
      sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'
      exit 0
      ;;
    *)
      echo "unknown argument: $1" >&2
      exit 2
      ;;
  esac
  shift
done

log() { printf '\n==> %s\n' "$*" >&2; }

if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
if ! command -v hyperfine >/dev/null 2>&1 || [ ! -x /usr/bin/time ]; then
  log "installing hyperfine and time (apt)"
  export DEBIAN_FRONTEND=noninteractive
  # hyperfine is a convenience: without it the loop below measures.
  { timeout 600 $SUDO apt-get update -qq &&
    timeout 900 $SUDO apt-get install -y -qq --no-install-recommends hyperfine time >/dev/null; } ||
    echo "warning: apt install failed; measuring with a loop" >&2
fi

if [ -z "${VOLLEY:-}" ]; then
  VOLLEY="${CARGO_TARGET_DIR:-$ROOT/target}/dist/volley"
  if [ "$NO_BUILD" = 0 ]; then
    log "cargo build --profile dist -p volley"
    (cd "$ROOT" && timeout 3600 cargo build --profile dist -p volley)
  fi
fi
"$VOLLEY" --version >/dev/null 2>&1 || { echo "error: no working Volley binary at $VOLLEY" >&2; exit 1; }

log "generating a $LINES-line file"
rm -rf "$OUT"
python3 "$BENCH/gen_large.py" --lines "$LINES" --out "$OUT"
FILE="$OUT/large.load"

# The file must compile cleanly, or the timing measures an early exit.
set +e
timeout 60 "$VOLLEY" check "$FILE" >"$OUT/check.out" 2>&1
rc=$?
set -e
if [ "$rc" != 0 ]; then
  echo "error: volley check failed on the generated file (exit $rc):" >&2
  head -n 40 "$OUT/check.out" >&2
  exit 1
fi

COMMANDS=(check)
if "$VOLLEY" --help 2>/dev/null | grep -qE '^\s+lint\b'; then
  COMMANDS+=(lint)
fi

median_of() { sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

declare -A MEDIAN
for cmd in "${COMMANDS[@]}"; do
  log "timing volley $cmd on $FILE"
  if command -v hyperfine >/dev/null 2>&1; then
    # Lint findings exit non-zero by design; the time is what matters here.
    timeout 300 hyperfine --warmup 2 --runs 10 --ignore-failure --style basic \
      --export-json "$OUT/$cmd.hyperfine.json" "'$VOLLEY' $cmd '$FILE'" >&2
    MEDIAN[$cmd]="$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["results"][0]["median"])' \
      "$OUT/$cmd.hyperfine.json")"
  else
    : >"$OUT/$cmd.times"
    for _ in 1 2 3 4 5; do
      /usr/bin/time -a -o "$OUT/$cmd.times" -f '%e' timeout 60 "$VOLLEY" "$cmd" "$FILE" >/dev/null 2>&1 || true
    done
    MEDIAN[$cmd]="$(grep -E '^[0-9.]+$' "$OUT/$cmd.times" | median_of)"
  fi
done

echo
printf '%-14s %8s  %s\n' "command" "median s" "goal < ${GOAL_S} s"
json="{\"lines\": $(wc -l <"$FILE"), \"goal_s\": $GOAL_S"
for cmd in "${COMMANDS[@]}"; do
  m="${MEDIAN[$cmd]}"
  met="$(awk -v m="$m" -v g="$GOAL_S" 'BEGIN { print (m < g) ? "met" : "NOT met" }')"
  printf '%-14s %8.3f  %s\n' "volley $cmd" "$m" "$met"
  json+=", \"${cmd}_median_s\": $m"
done
json+="}"
echo "$json" >"$RESULTS/compile.json"
echo "results: $RESULTS/compile.json"
