#!/usr/bin/env bash
# bench/fuzz.sh: the front-end fuzz test (tests/fuzz.rs) for minutes instead of seconds.
#
#   bench/fuzz.sh [--minutes N] [--seed S] [--count N]
#
# Runs `fuzz::mutated_files_never_panic_or_hang_and_fmt_keeps_the_plan` over and over with a
# new seed each round (S, S+1, …; default: the time), each round up to N inputs (default
# 200,000) and up to 60 s, until N minutes (default 10) have passed. Every round checks
# that parse, check, lint and fmt never panic or hang and that fmt is idempotent and keeps
# the compiled plan. It stops at the first failing round; the failing input is saved under
# target/test-tmp/fuzz-*/failing.load and the seed is printed, so
# `VOLLEY_FUZZ_SEED=S cargo test -p volley --test tests fuzz::` replays it.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
MINUTES=10
SEED="$(date +%s)"
COUNT=200000
while [ $# -gt 0 ]; do
  case "$1" in
    --minutes) MINUTES="$2"; shift ;;
    --seed) SEED="$2"; shift ;;
    --count) COUNT="$2"; shift ;;
    -h | --help) sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "unknown argument: $1" >&2; exit 2 ;;
  esac
  shift
done
cd "$ROOT"
# The release profile: many more inputs per second than the debug build of the test command.
cargo test --release --locked -p volley --test tests --no-run
end=$(( $(date +%s) + MINUTES * 60 ))
round=0
while [ "$(date +%s)" -lt "$end" ]; do
  seed=$(( SEED + round ))
  echo "==> round $round, seed $seed"
  VOLLEY_FUZZ_SEED="$seed" VOLLEY_FUZZ_COUNT="$COUNT" VOLLEY_FUZZ_SECS=60 \
    cargo test --release --locked -p volley --test tests -- --exact \
    fuzz::mutated_files_never_panic_or_hang_and_fmt_keeps_the_plan --nocapture 2>&1 \
    | grep -E "^fuzz:|panicked|failing|seed|test result" \
    || { echo "round $round (seed $seed) failed"; exit 1; }
  round=$(( round + 1 ))
done
echo "fuzzed for $MINUTES minutes, $round rounds from seed $SEED: no failure"
