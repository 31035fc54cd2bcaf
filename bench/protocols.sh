#!/usr/bin/env bash
# bench/protocols.sh: Volley's WebSocket and gRPC side by side with k6 (issue 18), against
# the demo shop (`volley demo-server --no-latency`) on loopback.
#
#   bench/protocols.sh [--quick] [--part idle|echo|grpc]...
#
# idle: KiB per idle WebSocket session at 10,000 sessions (peak RSS minus a 1-session
# baseline, divided by the sessions), Volley against k6. echo: WebSocket echo messages per
# generator CPU-second (50 sessions, each sending the next message when the echo of the
# last arrives). grpc: unary shop.Catalog/GetProduct calls per generator CPU-second (50
# VUs). The demo shop is pinned to one core, every generator to the other; CPU-seconds are
# user+sys from /usr/bin/time. echo and grpc run ROUNDS interleaved rounds (default 3) and
# report each tool's median round. No registry here has ghz (see bench/README.md), so gRPC
# compares with k6 alone. Results: tables on stdout, the sections ws_idle, ws_echo and
# grpc_unary of bench/results/latest.json, raw outputs in bench/results/raw-protocols/.
# Environment: VOLLEY (binary, default target/release/volley: no build here), K6 (default
# bench/.venv/bin/k6, else .venv/bin/k6), PORT (18090), SERVER_CPU, GEN_CPU, ROUNDS,
# IDLE_SESSIONS (10000), HOLD_S (15), TP_DUR (10), TP_VUS (50).
set -euo pipefail

BENCH="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(dirname "$BENCH")"
RESULTS="$BENCH/results"
RAW="$RESULTS/raw-protocols"
PORT="${PORT:-18090}"

usage() {
  sed -n '2,19p' "$0" | sed 's/^# \{0,1\}//'
  exit "${1:-0}"
}

QUICK=0
PARTS=()
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) QUICK=1 ;;
    --part)
      [ $# -ge 2 ] || usage 2
      PARTS+=("$2")
      shift
      ;;
    --part=*) PARTS+=("${1#--part=}") ;;
    -h | --help) usage 0 ;;
    *)
      echo "unknown argument: $1" >&2
      usage 2
      ;;
  esac
  shift
done
[ ${#PARTS[@]} -gt 0 ] || PARTS=(idle echo grpc)
for p in "${PARTS[@]}"; do
  case "$p" in idle | echo | grpc) ;; *)
    echo "--part takes idle, echo or grpc (got $p)" >&2
    exit 2
    ;;
  esac
done

if [ "$QUICK" = 1 ]; then
  IDLE_SESSIONS="${IDLE_SESSIONS:-1000}" HOLD_S=3 TP_DUR=3 ROUNDS=1
else
  IDLE_SESSIONS="${IDLE_SESSIONS:-10000}" HOLD_S="${HOLD_S:-15}" TP_DUR="${TP_DUR:-10}" ROUNDS="${ROUNDS:-3}"
fi
TP_VUS="${TP_VUS:-50}"
BASELINE_HOLD_S=3

log() { printf '\n==> %s\n' "$*" >&2; }
warn() { printf 'warning: %s\n' "$*" >&2; }

# --- CPUs: the demo shop on one, generators on another ----------------------------------------
cpu_list() {
  local spec part
  spec="$(awk '/^Cpus_allowed_list/ {print $2}' /proc/self/status)"
  IFS=',' read -ra parts <<<"$spec"
  for part in "${parts[@]}"; do
    if [[ "$part" == *-* ]]; then seq "${part%-*}" "${part#*-}"; else echo "$part"; fi
  done
}
mapfile -t CPUS < <(cpu_list)
SERVER_CPU="${SERVER_CPU:-${CPUS[0]}}"
GEN_CPU="${GEN_CPU:-${CPUS[1]:-${CPUS[0]}}}"
[ "$SERVER_CPU" != "$GEN_CPU" ] || warn "only one CPU: the shop and the generators share core $GEN_CPU"

for tool in taskset setsid python3; do
  command -v "$tool" >/dev/null 2>&1 || { echo "error: $tool is missing (bench/run.sh installs it)" >&2; exit 1; }
done
[ -x /usr/bin/time ] || { echo "error: /usr/bin/time is missing (apt-get install time)" >&2; exit 1; }

# --- the binaries: nothing is built or installed here (bench/run.sh does both) ---------------
VOLLEY="${VOLLEY:-${CARGO_TARGET_DIR:-$ROOT/target}/release/volley}"
if ! "$VOLLEY" --version >/dev/null 2>&1; then
  echo "error: no working Volley at $VOLLEY (set VOLLEY=...)" >&2
  exit 1
fi
if [ -z "${K6:-}" ]; then
  for k in "$BENCH/.venv/bin/k6" "$ROOT/.venv/bin/k6"; do
    if [ -x "$k" ]; then K6="$k" && break; fi
  done
fi
if [ -z "${K6:-}" ] || ! "$K6" version >/dev/null 2>&1; then
  echo "error: no working k6 (bench/run.sh installs it into bench/.venv; or set K6=...)" >&2
  exit 1
fi
export K6_NO_USAGE_REPORT=true # k6 must not phone home: loopback traffic only

# 10,000 sessions need 10,000+ descriptors in the generator and in the shop.
ulimit -Sn "$(ulimit -Hn)" 2>/dev/null || true
FD_LIMIT="$(ulimit -Sn)"
[ "$FD_LIMIT" = unlimited ] && FD_LIMIT=1048576
if [ "$FD_LIMIT" -lt $((IDLE_SESSIONS + 1024)) ]; then
  warn "open files limited to $FD_LIMIT: idle sessions lowered from $IDLE_SESSIONS"
  IDLE_SESSIONS=$(((FD_LIMIT - 1024) / 1000 * 1000))
fi

# --- the demo shop ------------------------------------------------------------------------------
SHOP_PID=""
CHILDREN=()
cleanup() {
  local rc=$? child pids=""
  for child in "${CHILDREN[@]}"; do pids+=" $(ps -o pid= -s "$child" 2>/dev/null | tr '\n' ' ')" || true; done
  # shellcheck disable=SC2086 # a list of pids
  [ -n "${pids// /}" ] && kill -KILL $pids 2>/dev/null
  if [ -n "$SHOP_PID" ] && kill -0 "$SHOP_PID" 2>/dev/null; then
    kill -TERM "$SHOP_PID" 2>/dev/null || true
    for _ in $(seq 30); do kill -0 "$SHOP_PID" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$SHOP_PID" 2>/dev/null || true
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

if (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; then
  echo "error: something already listens on 127.0.0.1:$PORT (set PORT=...)" >&2
  exit 1
fi
mkdir -p "$RAW"
log "demo shop on 127.0.0.1:$PORT (--no-latency), pinned to CPU $SERVER_CPU; generators on CPU $GEN_CPU"
taskset -c "$SERVER_CPU" "$VOLLEY" demo-server --port "$PORT" --no-latency >"$RAW/shop.log" 2>&1 &
SHOP_PID=$!
for _ in $(seq 100); do
  (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null && break
  kill -0 "$SHOP_PID" 2>/dev/null || { cat "$RAW/shop.log" >&2; exit 1; }
  sleep 0.1
done
WS_URL="ws://127.0.0.1:$PORT"
HTTP_URL="http://127.0.0.1:$PORT"

INFO="$RESULTS/info-protocols.txt"
{
  echo "server=volley demo-server --no-latency"
  echo "server_cpu=$SERVER_CPU"
  echo "generator_cpu=$GEN_CPU"
  echo "open_files=$FD_LIMIT"
  echo "k6=$("$K6" version 2>&1 | head -n1)"
  echo "volley=$("$VOLLEY" --version 2>&1 | head -n1) ($VOLLEY)"
  echo "git=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)"
  echo "load_at_start=$(cut -d' ' -f1-3 /proc/loadavg)"
} >"$INFO"

# --- measuring one run (as bench/run.sh's measure) -------------------------------------------
# measure NAME TIMEOUT_S KEY=VALUE... -- COMMAND...: COMMAND pinned to the generator CPU
# under `timeout` and /usr/bin/time; output, exit code, CPU seconds and peak RSS in $RAW/NAME.
measure() {
  local name="$1" tmo="$2" dir="$RAW/$1" pid rc=0
  shift 2
  rm -rf "$dir"
  mkdir -p "$dir"
  while [ $# -gt 0 ] && [ "$1" != "--" ]; do
    echo "$1" >>"$dir/meta"
    shift
  done
  shift
  printf '%q ' "$@" >"$dir/cmd"
  echo >>"$dir/cmd"
  echo "  $name: $*" >&2
  setsid -w /usr/bin/time -o "$dir/time" -f '%e %U %S %M' \
    timeout -k 10 "$tmo" taskset -c "$GEN_CPU" "$@" >"$dir/stdout" 2>"$dir/stderr" </dev/null &
  pid=$!
  CHILDREN=("$pid")
  wait "$pid" || rc=$?
  CHILDREN=()
  echo "$rc" >"$dir/rc"
  [ "$rc" = 0 ] || echo "    exit code $rc (see $dir/stderr)" >&2
  sleep 2 # let sockets close before the next tool
}
volley_run() { # volley_run NAME FILE PARAM...: sets CMD
  local name="$1" file="$2" kv
  shift 2
  CMD=("$VOLLEY" run "$BENCH/$file" -q --workers 1 --summary-json "$RAW/$name/summary.json")
  for kv in "$@"; do CMD+=(--param "$kv"); done
}
k6_run() { # k6_run NAME SCRIPT ENV...: sets CMD (run from bench/, where the scripts' paths start)
  local name="$1" script="$2" kv
  shift 2
  CMD=("$K6" run --quiet --no-usage-report --no-color
    --summary-trend-stats 'avg,min,med,max,p(90),p(95),p(99)' -e "SUMMARY_JSON=$RAW/$name/summary.json")
  for kv in "$@"; do CMD+=(-e "$kv"); done
  CMD+=("$BENCH/$script")
}
# rounds PREFIX TOOL...: ROUNDS rounds, the first tool rotating (as bench/run.sh).
rounds() {
  local prefix="$1" r i
  shift
  local order=("$@")
  for ((r = 1; r <= ROUNDS; r++)); do
    for ((i = 0; i < ${#order[@]}; i++)); do "${prefix}_${order[(r - 1 + i) % ${#order[@]}]}" "$r"; done
  done
}

# --- idle sessions -----------------------------------------------------------------------------
part_idle() {
  log "idle: $IDLE_SESSIONS WebSocket sessions held ${HOLD_S}s, against a 1-session baseline"
  rm -rf "$RAW"/idle-*
  local t=$((HOLD_S + 300))
  volley_run idle-volley-1 ws_idle.load "base_url=$WS_URL" vus=1 "hold=${BASELINE_HOLD_S}s"
  measure idle-volley-1 120 tool=volley part=idle role=baseline vus=1 hold_s=$BASELINE_HOLD_S -- "${CMD[@]}"
  volley_run idle-volley-n ws_idle.load "base_url=$WS_URL" "vus=$IDLE_SESSIONS" "hold=${HOLD_S}s"
  measure idle-volley-n "$t" tool=volley part=idle role=load vus="$IDLE_SESSIONS" hold_s="$HOLD_S" -- "${CMD[@]}"
  k6_run idle-k6-1 k6_ws_idle.js "WS_URL=$WS_URL" VUS=1 "HOLD=${BASELINE_HOLD_S}s"
  measure idle-k6-1 120 tool=k6 part=idle role=baseline vus=1 hold_s=$BASELINE_HOLD_S -- "${CMD[@]}"
  k6_run idle-k6-n k6_ws_idle.js "WS_URL=$WS_URL" "VUS=$IDLE_SESSIONS" "HOLD=${HOLD_S}s"
  measure idle-k6-n "$t" tool=k6 part=idle role=load vus="$IDLE_SESSIONS" hold_s="$HOLD_S" -- "${CMD[@]}"
}

# --- echo messages -------------------------------------------------------------------------------
echo_volley() {
  volley_run "echo-r$1-volley" ws_echo.load "base_url=$WS_URL" "vus=$TP_VUS" "run_for=${TP_DUR}s"
  measure "echo-r$1-volley" $((TP_DUR + 60)) tool=volley part=echo round="$1" vus="$TP_VUS" duration_s="$TP_DUR" -- "${CMD[@]}"
}
echo_k6() {
  k6_run "echo-r$1-k6" k6_ws_echo.js "WS_URL=$WS_URL" "VUS=$TP_VUS" "DURATION=${TP_DUR}s"
  measure "echo-r$1-k6" $((TP_DUR + 60)) tool=k6 part=echo round="$1" vus="$TP_VUS" duration_s="$TP_DUR" -- "${CMD[@]}"
}
part_echo() {
  log "echo: $TP_VUS WebSocket sessions echoing for ${TP_DUR}s, $ROUNDS rounds"
  rm -rf "$RAW"/echo-*
  rounds echo volley k6
}

# --- unary gRPC ----------------------------------------------------------------------------------
grpc_volley() {
  volley_run "grpc-r$1-volley" grpc.load "base_url=$HTTP_URL" "vus=$TP_VUS" "run_for=${TP_DUR}s"
  CMD+=(--allow-path "$ROOT/examples") # the shop's .proto, shared with examples/grpc.load
  measure "grpc-r$1-volley" $((TP_DUR + 60)) tool=volley part=grpc round="$1" vus="$TP_VUS" duration_s="$TP_DUR" -- "${CMD[@]}"
}
grpc_k6() {
  k6_run "grpc-r$1-k6" k6_grpc.js "GRPC_ADDR=127.0.0.1:$PORT" "VUS=$TP_VUS" "DURATION=${TP_DUR}s"
  measure "grpc-r$1-k6" $((TP_DUR + 60)) tool=k6 part=grpc round="$1" vus="$TP_VUS" duration_s="$TP_DUR" -- "${CMD[@]}"
}
part_grpc() {
  log "grpc: $TP_VUS VUs calling shop.Catalog/GetProduct for ${TP_DUR}s, $ROUNDS rounds"
  rm -rf "$RAW"/grpc-*
  rounds grpc volley k6
}

cd "$BENCH" # k6_grpc.js loads ../examples/protos relative to itself
for p in "${PARTS[@]}"; do "part_$p"; done

kill -0 "$SHOP_PID" 2>/dev/null || warn "the demo shop died during the run (see $RAW/shop.log)"
echo "load_at_end=$(cut -d' ' -f1-3 /proc/loadavg)" >>"$INFO"
report_args=(--raw "$RAW" --out "$RESULTS/latest.json" --parts "${PARTS[*]}" --info "$INFO")
[ "$QUICK" = 1 ] && report_args+=(--quick)
python3 "$BENCH/protocols_report.py" "${report_args[@]}"
