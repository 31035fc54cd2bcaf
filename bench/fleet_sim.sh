#!/usr/bin/env bash
# 1,000 simulated runners pushing a realistic snapshot every second to one real
# `volley coordinator` process (engine/examples/fleet_sim.rs). Prints the coordinator's
# CPU (share of one core while the pushes flow) and the push round trip, which is the
# end-to-end delay of the merged view (a push is merged before it is acknowledged).
# Usage: bench/fleet_sim.sh [RUNNERS] [SECONDS]   (defaults 1000 30)
set -euo pipefail
cd "$(dirname "$0")/.."
RUNNERS=${1:-1000}
SECONDS_=${2:-30}
PORT=${PORT:-16565}
mkdir -p bench/results
work=$(mktemp -d)
trap 'kill "${coord:-}" 2>/dev/null || true; tail -5 "$work/coord.err" >&2 2>/dev/null; rm -rf "$work"' EXIT
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"

cargo build --profile dist -q -p volley
cargo build --profile dist -q -p volley-engine --example fleet_sim
bin=${CARGO_TARGET_DIR:-target}/dist
cat > "$work/sim.load" <<LOAD
target api = "http://127.0.0.1:9"
scenario s {
  workload = constant_vus(vus: $RUNNERS, duration: ${SECONDS_}s)
  iteration { get(api, "/") }
}
thresholds { http_req_duration: p(95) < 500ms }
fleet { runners = $RUNNERS }
LOAD
hash=$("$bin/volley" compile "$work/sim.load" --out-dir "$work/out" | grep -o 'sha256:[0-9a-f]*' | head -1)
export VOLLEY_TOKEN=sim-token
taskset -c 0 "$bin/volley" coordinator --plan "$work/out/plan.json" --listen "127.0.0.1:$PORT" -q --linger 5s \
  --summary-json "$work/summary.json" >"$work/coord.out" 2>"$work/coord.err" &
coord=$!
[ -n "${PERF_OUT:-}" ] && { perf record -g -o "$PERF_OUT" -p "$coord" >/dev/null 2>&1 & }
for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null && break; sleep 0.1; done
ticks() { awk '{print $14 + $15}' "/proc/$coord/stat" 2>/dev/null || echo "coordinator gone" >&2; }
hz=$(getconf CLK_TCK)
t0=$(date +%s.%N); c0=$(ticks)
result=$(taskset -c 1 "$bin/examples/fleet_sim" "http://127.0.0.1:$PORT" "$RUNNERS" "$SECONDS_" "$hash")
t1=$(date +%s.%N); c1=$(ticks)
wait "$coord" || true
coord=
cpu=$(awk -v a="$c0" -v b="$c1" -v hz="$hz" -v t0="$t0" -v t1="$t1" \
  'BEGIN { s = (b - a) / hz; printf "{\"cpu_seconds\": %.2f, \"wall_seconds\": %.1f, \"share_of_one_core\": %.3f}", s, t1 - t0, s / (t1 - t0) }')
reqs=$(python3 -c "import json;print(json.load(open('$work/summary.json'))['volley']['runners'].__len__())" 2>/dev/null || echo "?")
out="{\"simulation\": $result, \"coordinator\": $cpu, \"summary_runner_rows\": $reqs}"
echo "$out" | tee bench/results/fleet_sim.json
