#!/usr/bin/env bash
# Benchmarks `archcheck derive` (and `check`) as a whole process (start-up, load, derive, check, render):
# on specs/googlenet_bn.yaml, and on generated specs of 1,000 to 20,000 rows to show how it
# grows; check --all-variants on 1,000 variants; and the table with 10,000 and 40,000
# findings rendered (both must grow linearly). Needs hyperfine (apt-get install hyperfine).
# Figures go in README.md.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet
bin=target/release/archcheck
tmp=$(mktemp -d)
for n in 1000 5000 10000 20000; do python3 scripts/gen_spec.py "$n" > "$tmp/gen_$n.yaml"; done
# 1,000 aliased variants (a 31 KB file): check --all-variants derives each one.
python3 scripts/gen_variants.py 1000 > "$tmp/variants_1000.yaml"
# Every generated row prints a wrong depth: one finding per row, each rendered with its line.
for n in 10000 40000; do python3 scripts/gen_spec.py "$n" --findings > "$tmp/findings_$n.yaml"; done
args=(--warmup 3 --min-runs 10 -N -i --export-markdown "$tmp/derive.md")
hyperfine "${args[@]}" \
  "$bin derive specs/googlenet_bn.yaml --variant caffe" \
  "$bin derive specs/googlenet_bn.yaml --format json" \
  "$bin derive $tmp/gen_1000.yaml --format json" \
  "$bin derive $tmp/gen_5000.yaml --format json" \
  "$bin derive $tmp/gen_10000.yaml --format json" \
  "$bin derive $tmp/gen_20000.yaml --format json" \
  "$bin check --all-variants $tmp/variants_1000.yaml" \
  "$bin derive $tmp/findings_10000.yaml" \
  "$bin derive $tmp/findings_40000.yaml" >/dev/null
sed "s|$tmp/||g" "$tmp/derive.md"
echo
echo "peak memory (max RSS):"
for f in specs/googlenet_bn.yaml "$tmp/gen_10000.yaml"; do
  /usr/bin/time -f "  $(basename "$f"): %M KiB" "$bin" derive "$f" --format json >/dev/null || true
done
rm -rf "$tmp"
