#!/usr/bin/env bash
# The whole test suite: the core (no libtorch), then libtorch's part, with libtorch installed
# into a venv by scripts/setup-torch.sh (torch==2.11.0 from PyPI, ~4.6 GB, once).
#   bash scripts/test-all.sh            everything
#   bash scripts/test-all.sh --core     only what needs nothing but the Rust toolchain
set -euo pipefail
cd "$(dirname "$0")/.."
echo "== core tests (no libtorch)"
cargo test --locked
if [ "${1:-}" = "--core" ]; then exit 0; fi
echo "== libtorch (scripts/setup-torch.sh)"
bash scripts/setup-torch.sh --no-build
eval "$(bash scripts/setup-torch.sh --print-env)"
export ARCHCHECK_PYTHON="$VIRTUAL_ENV/bin/python"
echo "== tests with the torch feature"
cargo test --locked --features torch
