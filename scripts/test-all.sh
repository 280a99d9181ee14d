#!/usr/bin/env bash
# The whole test suite: the core (no libtorch), then libtorch's part, with libtorch installed
# into a venv by scripts/setup-torch.sh (torch==2.11.0 from PyPI, ~4.6 GB, once).
#   bash scripts/test-all.sh            everything
#   bash scripts/test-all.sh --core     only what needs nothing but the Rust toolchain
# Ends with one line "N passed, N failed" summed over every cargo test binary.
set -euo pipefail
cd "$(dirname "$0")/.."
log=$(mktemp)
trap 'rm -f "$log"' EXIT
summary() {
  awk '/^test result:/ { for (i = 1; i <= NF; i++) { if ($(i) ~ /^passed/) p += $(i-1); if ($(i) ~ /^failed/) f += $(i-1) } }
       END { printf "%d passed, %d failed\n", p, f }' "$log"
}
echo "== core tests (no libtorch)"
cargo test --locked 2>&1 | tee -a "$log"
if [ "${1:-}" != "--core" ]; then
  echo "== libtorch (scripts/setup-torch.sh)"
  bash scripts/setup-torch.sh --no-build
  eval "$(bash scripts/setup-torch.sh --print-env)"
  export ARCHCHECK_PYTHON="$VIRTUAL_ENV/bin/python"
  echo "== tests with the torch feature"
  cargo test --locked --features torch 2>&1 | tee -a "$log"
fi
summary
