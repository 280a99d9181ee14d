#!/usr/bin/env bash
# The whole test suite: libtorch installed into a venv by scripts/setup-torch.sh
# (torch==2.11.0 from PyPI, ~4.6 GB, once), then the core tests (no torch feature), then
# the tests with the torch feature.
#   bash scripts/test-all.sh            everything: every test that needs Python, torch or
#                                       the Fashion-MNIST data set (apt-get install
#                                       dataset-fashion-mnist) fails where it is missing
#   bash scripts/test-all.sh --core     only what needs nothing but the Rust toolchain: sets
#                                       ARCHCHECK_TESTS=core, under which the tests that need
#                                       Python, torch or data skip, each by name
# Plain `cargo test` runs are full runs too; `ARCHCHECK_TESTS=core cargo test` is the
# core-only one.
#
# Tests named `cuda_only_*` need a CUDA device: where none is visible they are left out of
# the run and named on a `not run here` line (outside the counts).
#
# Ends with the lines `skipped: TEST: WHY` for every test that skipped, then one line
# "N passed, N failed, N skipped" summed over every cargo test binary: skipped counts the
# tests that reported a skip (tests/common/requirements.rs) and those marked #[ignore];
# passed does not include them. Exits 1 when a cargo test run failed.
set -uo pipefail
cd "$(dirname "$0")/.."

mode=full
case "${1:-}" in
  "") ;;
  --core) mode=core ;;
  *) echo "test-all.sh: unknown argument '$1' (expected nothing or --core)" >&2; exit 2 ;;
esac

log=$(mktemp)
skips=$(mktemp)
trap 'rm -f "$log" "$skips"' EXIT
# Tests append their `skipped:` lines here (libtest would capture them otherwise).
export ARCHCHECK_SKIP_LOG="$skips"
export ARCHCHECK_TESTS="$mode"
status=0
not_run=""

summary() {
  sort "$skips"
  awk -v skipped_lines="$(wc -l < "$skips")" '
    /^test result:/ {
      for (i = 1; i <= NF; i++) {
        if ($(i) ~ /^passed/) p += $(i-1)
        if ($(i) ~ /^failed/) f += $(i-1)
        if ($(i) ~ /^ignored/) ig += $(i-1)
      }
    }
    END { printf "%d passed, %d failed, %d skipped\n", p - skipped_lines, f, ig + skipped_lines }' "$log"
}

if [[ $mode == full ]]; then
  echo "== libtorch and the test Python (scripts/setup-torch.sh)"
  if ! bash scripts/setup-torch.sh --no-build; then
    echo "error: scripts/setup-torch.sh failed: the torch tests and the Python-backed tests cannot run" >&2
    exit 1
  fi
  eval "$(bash scripts/setup-torch.sh --print-env)"
  # The tests use the venv just set up (tests/common/python.rs); for setup-torch.sh,
  # ARCHCHECK_PYTHON was only the interpreter that created it.
  unset ARCHCHECK_PYTHON
fi

echo "== core tests (no libtorch)"
cargo test --locked --no-fail-fast 2>&1 | tee -a "$log" || status=1

if [[ $mode == full ]]; then
  filter=()
  if ! "$VIRTUAL_ENV/bin/python" -c 'import sys, torch; sys.exit(0 if torch.cuda.is_available() else 1)' 2>/dev/null; then
    filter=(--skip cuda_only_)
  fi
  echo "== tests with the torch feature"
  cargo test --locked --no-fail-fast --features torch -- "${filter[@]}" 2>&1 | tee -a "$log" || status=1
  if [[ ${#filter[@]} -gt 0 ]]; then
    names=$(cargo test --locked --features torch --tests -- --list 2>/dev/null \
      | sed -n 's/^\(\([A-Za-z0-9_]*::\)*cuda_only_[A-Za-z0-9_]*\): test$/\1/p' | sort -u | paste -sd, - | sed 's/,/, /g')
    not_run="not run here (no CUDA device visible): ${names:-the tests named cuda_only_*}"
  fi
fi

[[ $status == 0 ]] || echo "error: a cargo test run failed (see above)"
[[ -z $not_run ]] || echo "$not_run"
summary
exit $status
