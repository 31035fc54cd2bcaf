#!/usr/bin/env bash
# Checks that docs mention what the code has: every CLI subcommand in the README.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=target/debug/volley
[ -x "$bin" ] || cargo build -q -p volley
fail=0
for sub in check lint plan compile convert fmt lsp run deploy status logs abort delete runner coordinator demo-server; do
  if ! grep -q "volley $sub" README.md; then echo "README.md does not mention \`volley $sub\`"; fail=1; fi
  "$bin" "$sub" --help >/dev/null || { echo "volley $sub --help failed"; fail=1; }
done
exit $fail
