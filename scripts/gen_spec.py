#!/usr/bin/env python3
"""Writes a synthetic spec of N printed rows to stdout, for the derive benchmark.

It reuses googlenet_bn.yaml's columns, conventions and templates, then repeats a realistic
mix of rows (stride-1 convolutions, max pools and inception modules) so that every row is
valid and the table stays 28×28. The printed output cells are left out on purpose: the
benchmark measures derivation, not the findings.

With --findings every generated row prints a depth of 9, which no row has: N findings, to
measure rendering them (it must stay linear in their number)."""
import sys

args = [a for a in sys.argv[1:] if a != "--findings"]
findings = len(args) < len(sys.argv) - 1
n = int(args[0]) if args else 10000
head = open(args[1] if len(args) > 1 else "specs/googlenet_bn.yaml").read()
head = head[: head.index("\nrows:")]
out = [head, "rows:"]
out.append('  - {type: "convolution*", patch size/stride: 7×7/2, "#3×3": 64, depth: 1}')
out.append("  - {type: max pool, patch size/stride: 3×3/2, depth: 0}")
for i in range(n - 2):
    k = i % 3
    if k == 0:
        out.append(f'  - {{type: convolution, patch size/stride: 3×3/1, "#3×3 reduce": 64, "#3×3": 192}}')
    elif k == 1:
        out.append("  - {type: max pool, patch size/stride: 3×3/1}")
    else:
        out.append(f'  - {{type: inception (g{i}), "#1×1": 64, "#3×3 reduce": 64, "#3×3": 64, "double #3×3 reduce": 64, "double #3×3": 96, "Pool +proj": avg + 32}}')
if findings:
    out[4:] = [row[:-1] + ", depth: 9}" for row in out[4:]]
print("\n".join(out))
