#!/usr/bin/env python3
"""Writes googlenet_bn.yaml with N extra variants to stdout, for the derive benchmark: one
anchored variant and N - 1 aliases of it, so the file stays small (about 21 KB for 1,000)
while the loaded spec holds N full variants. `check --all-variants` derives each one; when
every derivation copied the whole spec, that was quadratic in N."""
import sys

n = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
text = open(sys.argv[2] if len(sys.argv) > 2 else "specs/googlenet_bn.yaml").read()
body = text.rstrip("\n")
out = [body, ""]
out.append("  alias_0: &aliased")
out.append("    description: an aliased copy of the caffe resolution")
out.append("    conventions: {padding: half, pool_rounding: ceil, ceil_rule: caffe, conv_bias: true}")
out.append("    vars: {pool_pad: 1}")
out.append("    rows:")
out.append("      convolution_2: {cells: {depth: 2}}")
out.append("      inception (3c): {vars: {pool_pad: 0}, cells: {output size: 14×14×576}}")
out.append("      inception (4c): {cells: {output size: 14×14×608}}")
out.append("      inception (4d): {cells: {output size: 14×14×608}}")
out.append("      inception (4e): {vars: {pool_pad: 0}, cells: {output size: 7×7×1056}}")
out.append('    head: [linear: {name: fc, out: "{classes}"}]')
for i in range(1, n):
    out.append(f"  alias_{i}: *aliased")
print("\n".join(out))
