#!/usr/bin/env bash
# Formatting and lints, as CI runs them: rustfmt (rustfmt.toml), the fuzz targets compiling,
# then clippy with warnings
# as errors on every target, without and with the torch feature (libtorch from the venv
# scripts/setup-torch.sh makes; run it once first).
set -euo pipefail
cd "$(dirname "$0")/.."
echo "== cargo fmt --check"
cargo fmt --check
(cd fuzz && cargo fmt --check)
echo "== the fuzz targets compile (cargo check; running them needs nightly, see fuzz/README.md)"
(cd fuzz && cargo check --locked --bins --quiet)
echo "== cargo clippy (core)"
cargo clippy --locked --all-targets -- -D warnings
echo "== cargo clippy (--features torch)"
eval "$(bash scripts/setup-torch.sh --print-env)"
cargo clippy --locked --all-targets --features torch -- -D warnings
