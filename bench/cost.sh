#!/usr/bin/env bash
# bench/cost.sh: instructions per request of the engine, counted by callgrind, for part 1's
# iteration (one GET, one check) in several HTTP configurations. Deterministic where
# bench/run.sh is not: callgrind counts the instructions Volley executes in user space
# (the kernel's share is not in it), the same whatever else the machine is doing.
#
#   bench/cost.sh [VARIANT...]              # default: every variant
#   VOLLEY=path/to/volley bench/cost.sh plain
#
# Variants: plain (part 1's file: compression on, the default, no cookie ever set), nocomp
# (`http = {compression: false}`), jar (`http = {cookies: per_vu}` and a cookie for another
# host set on the first iteration, so the jar exists and is consulted by every request but
# matches none), nojar (jar's control: the same file and `if`, whose cookie is never set,
# so no jar), tls (HTTPS keep-alive, part 4's file), h2 (HTTP/2 over TLS, part 5's). A
# binary older than compression and the jar (no `compression`/`cookies` fields) can only
# run plain, tls and h2: the others print "n/a".
#
# Method: each variant runs twice under `valgrind --tool=callgrind`, 50 VUs with
# `per_vu_iterations` of SMALL and LARGE iterations (default 20 and 220: 1,000 and 11,000
# requests), against a private nginx on loopback (plain on PORT, default 18090; TLS on +1,
# HTTP/2 on +2; a certificate made for the run); instructions per request =
# (Ir(LARGE) - Ir(SMALL)) / (requests(LARGE) - requests(SMALL)), which takes start-up,
# connection set-up (TCP and TLS handshakes of the 50 connections) and shut-down out.
# The metrics snapshot taken every second (the worker's `send_snapshot`, the supervisor's
# `Supervisor::merge`, inclusive) is subtracted too: it costs per second, not per request,
# and a run under valgrind lasts 20-50 times longer than natively, so it would count
# hundreds of instructions per request (thousands over TLS) that a native run spends on a
# handful; the "snapshots" column shows what was taken out.
# `--workers 1`, as run.sh. Prints a table; callgrind files stay in bench/results/cost/
# (callgrind_annotate them by function). Needs valgrind and nginx (and openssl for tls/h2).
# Environment: VOLLEY (default target/dist/volley, else target/release/volley), SMALL,
# LARGE, PORT, VUS, OUT (the directory of the callgrind files).
set -euo pipefail

BENCH="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(dirname "$BENCH")"
OUT="${OUT:-$BENCH/results/cost}"
PORT="${PORT:-18090}"
TLS_PORT=$((PORT + 1))
H2_PORT=$((PORT + 2))
SMALL="${SMALL:-20}"
LARGE="${LARGE:-220}"
VUS="${VUS:-50}"
export PATH="$PATH:/usr/sbin:/sbin"

if [ -z "${VOLLEY:-}" ]; then
  for p in dist release; do
    VOLLEY="${CARGO_TARGET_DIR:-$ROOT/target}/$p/volley"
    [ -x "$VOLLEY" ] && break
  done
fi
"$VOLLEY" --version >/dev/null || {
  echo "error: no Volley binary at $VOLLEY (build one, or set VOLLEY)" >&2
  exit 1
}
for tool in valgrind nginx openssl; do
  command -v "$tool" >/dev/null || {
    echo "error: $tool is needed (apt-get install valgrind nginx openssl)" >&2
    exit 1
  }
done
VARIANTS=("$@")
[ ${#VARIANTS[@]} -gt 0 ] || VARIANTS=(plain nocomp jar tls h2)

# --- a private nginx, stopped at exit ----------------------------------------------------------
NGX="$(mktemp -d /tmp/volley-cost-nginx.XXXXXX)"
NGX_PID=""
WORK="$(mktemp -d /tmp/volley-cost.XXXXXX)"
cleanup() {
  if [ -n "$NGX_PID" ] && kill -0 "$NGX_PID" 2>/dev/null; then
    kill -TERM "$NGX_PID" 2>/dev/null || true
    wait "$NGX_PID" 2>/dev/null || true
  fi
  rm -rf "$NGX" "$WORK"
}
trap cleanup EXIT
for port in "$PORT" "$TLS_PORT" "$H2_PORT"; do
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
    echo "error: something already listens on 127.0.0.1:$port (set PORT=...)" >&2
    exit 1
  fi
done
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 \
  -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 \
  -keyout "$NGX/key.pem" -out "$NGX/cert.pem" 2>/dev/null
chmod 755 "$NGX"
mkdir -p "$NGX/tmp"
# The body and server of bench/run.sh: 42 bytes from memory, keep-alive without a limit.
cat >"$NGX/nginx.conf" <<EOF
daemon off;
worker_processes 1;
pid $NGX/nginx.pid;
error_log $NGX/error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path $NGX/tmp/body;
  proxy_temp_path $NGX/tmp/proxy;
  fastcgi_temp_path $NGX/tmp/fastcgi;
  uwsgi_temp_path $NGX/tmp/uwsgi;
  scgi_temp_path $NGX/tmp/scgi;
  keepalive_requests 100000000;
  keepalive_timeout 120s;
  server_tokens off;
  default_type text/plain;
  ssl_certificate $NGX/cert.pem;
  ssl_certificate_key $NGX/key.pem;
  server {
    listen 127.0.0.1:$PORT;
    listen 127.0.0.1:$TLS_PORT ssl;
    location = / { return 200 "hello from nginx for the volley benchmark\n"; }
    location / { return 404; }
  }
  server {
    listen 127.0.0.1:$H2_PORT ssl http2;
    location = / { return 200 "hello from nginx for the volley benchmark\n"; }
    location / { return 404; }
  }
}
EOF
nginx -p "$NGX" -c "$NGX/nginx.conf" -e "$NGX/error.log" &
NGX_PID=$!
for _ in $(seq 50); do (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null && break; sleep 0.1; done

# --- the variants --------------------------------------------------------------------------------
# write_load FILE HTTP_RECORD EXTRA_TARGET FIRST_ITERATION_STATEMENT
write_load() {
  cat >"$1" <<EOF
param base_url: url = "http://127.0.0.1:$PORT"
param vus: int = $VUS
param iterations: int = 20

target web = base_url
$3

scenario bench {
  workload = per_vu_iterations(vus: vus, iterations: iterations)
  $2
  iteration {
    $4
    let r = get(web, "/")
    check "status 200": r.status == 200
  }
}
EOF
}
variant() { # variant NAME: writes $WORK/NAME.load and sets URL
  local f="$WORK/$1.load"
  URL="http://127.0.0.1:$PORT"
  case "$1" in
    plain) write_load "$f" "" "" "" ;;
    nocomp) write_load "$f" "http = {compression: false}" "" "" ;;
    jar)
      write_load "$f" "http = {cookies: per_vu}" 'target other = "http://127.0.0.2:9"' \
        'if vu.iteration == 0 { vu.cookies.set(other, "theme", "dark") }'
      ;;
    nojar)
      write_load "$f" "http = {cookies: per_vu}" 'target other = "http://127.0.0.2:9"' \
        'if vu.iteration == -1 { vu.cookies.set(other, "theme", "dark") }'
      ;;
    tls)
      write_load "$f" "http = {insecure_tls: true, http2: false}" "" ""
      URL="https://127.0.0.1:$TLS_PORT"
      ;;
    h2)
      write_load "$f" "http = {insecure_tls: true, http2: true}" "" ""
      URL="https://127.0.0.1:$H2_PORT"
      ;;
    *)
      echo "error: unknown variant $1 (plain, nocomp, jar, nojar, tls, h2)" >&2
      exit 2
      ;;
  esac
}
# count NAME ITERATIONS: "TOTAL SNAPSHOTS", the instructions of one run under callgrind and
# those of its metric snapshots (empty on failure)
count() {
  local file="$OUT/$1-$2.callgrind"
  rm -f "$file"
  if ! valgrind --tool=callgrind --callgrind-out-file="$file" \
    "$VOLLEY" run "$WORK/$1.load" -q --workers 1 --param "base_url=$URL" \
    --param "iterations=$2" --summary-json "$OUT/$1-$2.json" >"$OUT/$1-$2.log" 2>&1; then
    return 0
  fi
  # Every request must have been made, and answered 200.
  python3 - "$OUT/$1-$2.json" $((VUS * $2)) <<'PY' || return 0
import json, sys
m = json.load(open(sys.argv[1]))["metrics"]
want = int(sys.argv[2])
reqs = m["http_reqs"]["values"]["count"]
failed = m["http_req_failed"]["values"]["passes"]
sys.exit(0 if reqs == want and failed == 0 else 1)
PY
  local total snaps
  total="$(awk '/^(summary|totals):/ {print $2; exit}' "$file")"
  snaps="$(callgrind_annotate --inclusive=yes "$file" 2>/dev/null |
    awk '/run::worker::send_snapshot |run::supervisor::Supervisor::merge / {gsub(",", "", $1); s += $1} END {print s + 0}')"
  echo "$total $snaps"
}

mkdir -p "$OUT"
echo "volley: $VOLLEY ($("$VOLLEY" --version 2>&1 | head -n1))"
printf '%-8s %14s %14s %12s %12s\n' variant "Ir($SMALL)" "Ir($LARGE)" "snapshots/r" "Ir/request"
for v in "${VARIANTS[@]}"; do
  variant "$v"
  small="$(count "$v" "$SMALL")"
  large="$(count "$v" "$LARGE")"
  if [ -z "$small" ] || [ -z "$large" ]; then
    printf '%-8s %14s %14s %12s %12s\n' "$v" n/a n/a n/a "n/a (see $OUT/$v-*.log)"
    continue
  fi
  read -r small_total small_snaps <<<"$small"
  read -r large_total large_snaps <<<"$large"
  reqs=$((VUS * (LARGE - SMALL)))
  snaps=$(((large_snaps - small_snaps) / reqs))
  per=$(((large_total - small_total - (large_snaps - small_snaps)) / reqs))
  printf '%-8s %14s %14s %12s %12s\n' "$v" "$small_total" "$large_total" "$snaps" "$per"
done
