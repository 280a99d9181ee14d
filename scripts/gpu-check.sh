#!/usr/bin/env bash
# GPU check of archcheck's training path, for a machine with a GPU, PyTorch 2.11 as
# `python3`, no Rust and no network. Runs, each under its own timeout, in about 6 minutes
# on an H100/H200 (under 8 minutes with every timeout hit):
#
#   1. bench: googlenet_bn (caffe variant), batch 256, 224×224, bf16 autocast,
#      channels-last, SGD momentum: archcheck (tch) against the emitted PyTorch module,
#      images/s, peak GPU memory, derive's predicted activation memory;
#   2. training on Fashion-MNIST at 96×96, batch 256:
#        bn_sgd    googlenet_bn (zjzstu: BN applied, aux heads), SGD 0.1 momentum 0.9,
#                  cosine, 1 warm-up epoch, 10 epochs  (the ≥ 93 % goal)
#        bn_adam   googlenet_bn (zjzstu), Adam 1e-3, cosine        (the seed's optimizer)
#        plain_adam googlenet (zjzstu: no BN), Adam 1e-3, cosine   (same settings, no BN)
#   3. an overlay plot of the three runs and a summary.
#
# Usage: scripts/gpu-check.sh BINARY FASHION_MNIST_DIR [OUT_DIR]
#   BINARY             archcheck built here with --features torch (release)
#   FASHION_MNIST_DIR  the four IDX files (.gz or plain), e.g. a copy of
#                      /usr/share/datasets/fashion-mnist carried to the GPU machine
#   OUT_DIR            default $OUT (an output folder the runner provides), else ./gpu-check-out
# Environment: EPOCHS (10), CMP_EPOCHS (the Adam pair, 6), BENCH_STEPS (30),
#   SCRATCH (where weights and checkpoints go; default a temp dir, not copied back).
#   For a dry run without a GPU: DEVICE=cpu INPUT=32 BATCH=16 BENCH_INPUT=224
#   BENCH_BATCH=2 BENCH_STEPS=1 BENCH_WARMUP=1 MAX_STEPS=3 (and a python3 with torch on PATH).
#
# Everything goes to OUT_DIR: gpu-check.log (this script's output), one log per step,
# bench.json, runs/<name>/{metrics.jsonl,metrics.svg,checkpoint.json}, overlay.svg,
# summary.txt. Weights and checkpoints stay in SCRATCH (hundreds of MB).
set -euo pipefail

if [[ $# -lt 2 ]]; then
  sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//' >&2
  exit 2
fi
BIN="$(cd "$(dirname "$1")" && pwd)/$(basename "$1")"
FMNIST="$(cd "$2" && pwd)"
OUT_DIR="${3:-${OUT:-$PWD/gpu-check-out}}"
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
EPOCHS="${EPOCHS:-10}"
CMP_EPOCHS="${CMP_EPOCHS:-6}"
BENCH_STEPS="${BENCH_STEPS:-30}"
DEVICE="${DEVICE:-cuda}"
INPUT="${INPUT:-96}"
BATCH="${BATCH:-256}"
BENCH_INPUT="${BENCH_INPUT:-224}"
BENCH_BATCH="${BENCH_BATCH:-256}"
BENCH_WARMUP="${BENCH_WARMUP:-10}"
MAX_STEPS=(${MAX_STEPS:+--max-steps "$MAX_STEPS"})
SCRATCH="${SCRATCH:-$(mktemp -d -t archcheck-gpu.XXXXXX)}"
mkdir -p "$OUT_DIR/runs" "$SCRATCH"
LOG="$OUT_DIR/gpu-check.log"
exec > >(tee -a "$LOG") 2>&1

START=$(date +%s)
say() { printf '[%4ds] %s\n' "$(( $(date +%s) - START ))" "$*"; }

# The binary's RUNPATH names the build machine's venv: use this machine's libtorch.
TORCH_LIB="$(python3 -c 'import torch,os;print(os.path.dirname(torch.__file__))')/lib"
export LD_LIBRARY_PATH="$TORCH_LIB${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
export ARCHCHECK_PYTHON=python3
export PYTHONUNBUFFERED=1

say "archcheck gpu-check: binary $BIN, data $FMNIST, out $OUT_DIR, scratch $SCRATCH"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || true
python3 -c 'import torch; print("torch", torch.__version__, "cuda", torch.version.cuda, "cudnn", torch.backends.cudnn.version(), "device", torch.cuda.get_device_name(0))' || true
"$BIN" --version

FAILED=()
# step NAME TIMEOUT_S CMD...: runs CMD under a timeout, its output in OUT_DIR/NAME.log;
# a failure is recorded and the script goes on.
step() {
  local name="$1" limit="$2"
  shift 2
  say "== $name (timeout ${limit}s): $*"
  local rc=0
  timeout -k 15 "$limit" "$@" > "$OUT_DIR/$name.log" 2>&1 || rc=$?
  tail -n 25 "$OUT_DIR/$name.log"
  if [[ $rc -ne 0 ]]; then
    if [[ $rc -eq 124 || $rc -eq 137 ]]; then say "$name: TIMED OUT after ${limit}s (what it wrote so far is kept)"; else say "$name: FAILED (exit $rc)"; fi
    FAILED+=("$name:$rc")
  else
    say "$name: ok"
  fi
}

cd "$REPO"

# 1. Throughput against PyTorch eager, same process tree, same settings.
step bench 100 "$BIN" bench specs/googlenet_bn.yaml --variant caffe --batch "$BENCH_BATCH" \
  --input "$BENCH_INPUT" --steps "$BENCH_STEPS" --warmup "$BENCH_WARMUP" --device "$DEVICE" --json
grep -h '^{' "$OUT_DIR/bench.log" | tail -n 1 > "$OUT_DIR/bench.json" || true
if [[ -s "$OUT_DIR/bench.json" ]]; then
  python3 - "$OUT_DIR/bench.json" <<'EOF' || true
import json, sys
r = json.load(open(sys.argv[1]))
gib = lambda b: "-" if b is None else "%.2f GiB" % (b / 2**30)
print("bench %s (%s) batch %d %dx%d amp=%s channels_last=%s on %s" % (r["spec"], r["variant"], r["batch"], r["input"][0], r["input"][1], r["amp"], r["channels_last"], r["device"]))
a = r["archcheck"]
print("  archcheck (tch): %8.0f images/s  %6.1f ms/step  peak %s" % (a["images_per_sec"], a["step_ms"], gib(a["peak_bytes"])))
p = r["pytorch"]
if p and "images_per_sec" in p:
    print("  PyTorch %s eager: %8.0f images/s  %6.1f ms/step  peak %s" % (p.get("torch"), p["images_per_sec"], p["step_ms"], gib(p["peak_bytes"])))
    print("  ratio archcheck/PyTorch: %.3f" % r["ratio"])
else:
    print("  PyTorch side: %s" % p)
print("  derive: %d parameters, predicted activation memory (fp32) %s" % (r["derived_parameters"], gib(r["predicted_training_bytes"])))
EOF
fi

# 2. Training on Fashion-MNIST, 96×96 (28×28 grey, resized and expanded on the GPU).
train() {
  local name="$1" limit="$2"
  shift 2
  step "$name" "$limit" "$BIN" build "$@" --train --data "fashion-mnist:$FMNIST" --input "$INPUT" \
    --batch "$BATCH" --device "$DEVICE" --seed 1 --out "$SCRATCH/$name" "${MAX_STEPS[@]}"
  mkdir -p "$OUT_DIR/runs/$name"
  for f in metrics.jsonl metrics.svg checkpoint.json; do
    [[ -f "$SCRATCH/$name/$f" ]] && cp "$SCRATCH/$name/$f" "$OUT_DIR/runs/$name/"
  done
  return 0
}
train bn_sgd 150 specs/googlenet_bn.yaml --variant zjzstu --epochs "$EPOCHS" \
  --optimizer sgd --lr 0.1 --momentum 0.9 --weight-decay 5e-4 --schedule cosine --warmup 1
train bn_adam 90 specs/googlenet_bn.yaml --variant zjzstu --epochs "$CMP_EPOCHS" \
  --optimizer adam --lr 1e-3 --schedule cosine
train plain_adam 90 specs/googlenet.yaml --variant zjzstu --epochs "$CMP_EPOCHS" \
  --optimizer adam --lr 1e-3 --schedule cosine

# 3. Overlay and summary.
runs=()
for r in bn_sgd bn_adam plain_adam; do
  [[ -s "$OUT_DIR/runs/$r/metrics.jsonl" ]] && runs+=("$r=$OUT_DIR/runs/$r")
done
if [[ ${#runs[@]} -gt 0 ]]; then
  step overlay 20 "$BIN" plot "${runs[@]}" -o "$OUT_DIR/overlay.svg"
fi
python3 - "$OUT_DIR" <<'EOF' | tee "$OUT_DIR/summary.txt" || true
import json, os, sys
out = sys.argv[1]
for name in ["bn_sgd", "bn_adam", "plain_adam"]:
    p = os.path.join(out, "runs", name, "metrics.jsonl")
    if not os.path.exists(p):
        print("%-10s no metrics" % name)
        continue
    ms = [json.loads(l) for l in open(p) if l.strip()]
    if not ms:
        print("%-10s no epoch completed" % name)
        continue
    best = max(ms, key=lambda m: m["test_acc"] if m["test_acc"] is not None else -1)
    last = ms[-1]
    print("%-10s %2d epochs: best test acc %.2f%% (epoch %d), last %.2f%%, train loss %.4f, %.0f img/s, %.0f s"
          % (name, len(ms), 100 * best["test_acc"], best["epoch"], 100 * (last["test_acc"] or 0), last["train_loss"] or float("nan"), last["images_per_sec"] or 0, last["elapsed_s"] or 0))
EOF
say "done in $(( $(date +%s) - START ))s; failed steps: ${FAILED[*]:-none}"
[[ ${#FAILED[@]} -eq 0 ]]
