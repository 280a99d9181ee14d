#!/usr/bin/env bash
# Set up libtorch for archcheck's `torch` feature and build archcheck with it.
#
# libtorch comes from PyPI's torch==2.11.0 wheel (the version tch 0.24 is built for),
# installed into a Python virtual environment; torch-sys finds it through
# LIBTORCH_USE_PYTORCH=1 and that venv's python. build.rs then bakes an rpath to
# <venv>/.../torch/lib into every binary and test binary, so nothing needs
# LD_LIBRARY_PATH at run time.
#
# Usage:
#   scripts/setup-torch.sh               create/reuse the venv, install torch, build (release)
#   scripts/setup-torch.sh --debug       same, dev profile
#   scripts/setup-torch.sh --no-build    only create the venv and install torch
#   scripts/setup-torch.sh --print-env   print `export` lines for the build env, nothing else:
#       eval "$(scripts/setup-torch.sh --print-env)" && cargo test --features torch
#
# Environment:
#   ARCHCHECK_VENV    venv location (default: <repo>/.venv-torch)
#   ARCHCHECK_PYTHON  python used to create the venv (default: python3; torch 2.11 wants 3.10-3.14)
#
# Idempotent: an existing venv is reused and torch is only installed when the venv does not
# already hold torch 2.11.0. All progress goes to stderr; with --print-env stdout holds only
# the export lines.
set -euo pipefail

TORCH_VERSION="2.11.0"
REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${ARCHCHECK_VENV:-$REPO_ROOT/.venv-torch}"
PYTHON="${ARCHCHECK_PYTHON:-python3}"

profile=release
build=1
print_env=0
for arg in "$@"; do
  case "$arg" in
    --debug) profile=debug ;;
    --release) profile=release ;;
    --no-build) build=0 ;;
    --print-env) print_env=1 ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "setup-torch.sh: unknown argument '$arg' (see --help)" >&2; exit 2 ;;
  esac
done

log() { echo "setup-torch: $*" >&2; }

# Make the venv path absolute so the printed env works from any directory.
case "$VENV" in
  /*) ;;
  *) VENV="$PWD/$VENV" ;;
esac

env_lines() {
  printf 'export VIRTUAL_ENV=%q\n' "$VENV"
  printf 'export LIBTORCH_USE_PYTORCH=1\n'
  printf 'export PATH=%q:"$PATH"\n' "$VENV/bin"
}

torch_version() {
  "$VENV/bin/python" -c 'import torch; print(torch.__version__)' 2>/dev/null || true
}

if [[ $print_env == 1 ]]; then
  if [[ ! -x "$VENV/bin/python" ]]; then
    log "warning: no venv at $VENV yet; run scripts/setup-torch.sh first"
  fi
  env_lines
  exit 0
fi

# 1. The venv.
if [[ -x "$VENV/bin/python" ]]; then
  log "reusing venv $VENV"
else
  log "creating venv $VENV with $PYTHON ($("$PYTHON" --version 2>&1))"
  if ! "$PYTHON" -m venv "$VENV"; then
    log "error: '$PYTHON -m venv' failed (on Debian: apt-get install python3-venv)"
    exit 1
  fi
fi

# 2. torch from PyPI (the default Linux wheel carries libtorch with CUDA; its CUDA
#    libraries come as dependencies and libtorch_cpu.so itself needs libcudart, so no
#    --no-deps).
have="$(torch_version)"
if [[ "${have%%+*}" == "$TORCH_VERSION" ]]; then
  log "torch $have already installed"
else
  log "installing torch==$TORCH_VERSION into $VENV (about 4.6 GB)${have:+, replacing $have}"
  t0=$SECONDS
  "$VENV/bin/python" -m pip install --disable-pip-version-check --quiet "torch==$TORCH_VERSION"
  have="$(torch_version)"
  if [[ "${have%%+*}" != "$TORCH_VERSION" ]]; then
    log "error: torch import failed after install (got '${have:-nothing}')"
    exit 1
  fi
  log "installed torch $have in $((SECONDS - t0)) s"
fi

# 3. The test packages beside torch (scripts/test-requirements.txt: torchvision, onnx,
#    onnxruntime, torchinfo, fvcore): the lineage, ONNX and tool-agreement tests use them.
req="$REPO_ROOT/scripts/test-requirements.txt"
if "$VENV/bin/python" -m pip install --disable-pip-version-check --quiet -r "$req"; then
  log "test packages installed ($(grep -cE '^[a-z]' "$req") from $(basename "$req"))"
else
  log "error: pip install -r $req failed"
  exit 1
fi

if [[ $build == 0 ]]; then
  log "skipping the build (--no-build); build env:"
  env_lines >&2
  exit 0
fi

# 4. Build archcheck with the torch feature in that env.
export VIRTUAL_ENV="$VENV"
export LIBTORCH_USE_PYTORCH=1
export PATH="$VENV/bin:$PATH"
cd "$REPO_ROOT"
cargo_args=(build --features torch --bins)
[[ $profile == release ]] && cargo_args+=(--release)
log "cargo ${cargo_args[*]}"
t0=$SECONDS
cargo "${cargo_args[@]}"
log "build took $((SECONDS - t0)) s"

target_dir="$(cargo metadata --format-version 1 --no-deps \
  | python -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')"
bin="$target_dir/$profile/archcheck"
if [[ ! -x "$bin" ]]; then
  log "error: expected binary $bin is missing"
  exit 1
fi
log "binary: $bin"
log "it finds libtorch through its RUNPATH; to build or test with the same env:"
venv_arg=""
[[ -n "${ARCHCHECK_VENV:-}" ]] && venv_arg="$(printf 'ARCHCHECK_VENV=%q ' "$VENV")"
log "  eval \"\$(${venv_arg}scripts/setup-torch.sh --print-env)\" && cargo test --features torch"
env_lines >&2
echo "$bin"
