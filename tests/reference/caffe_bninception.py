#!/usr/bin/env python3
"""Reference: Caffe-lineage BN-Inception as ported by Cadene's
pretrained-models.pytorch (pretrainedmodels/models/bninception.py), re-written
from a reading of that source (no code copied), organised in stages.

Source version: HEAD of Cadene/pretrained-models.pytorch, last change to the
file 1e1bca0 (2019-01-20).  Earlier versions differ only in BN settings
(eps 1e-5, momentum=0.9 before 87e9751), a missing ReLU on the branch outputs
(fixed in 87e9751) and the head pool (fixed 7x7 before e96d9f7); the
parameter counts are the same in all of them.

Structure (as in the source):
  * every conv: Conv2d(bias=True) -> BatchNorm2d(affine, PyTorch defaults:
    eps=1e-5, momentum=0.1) -> ReLU.  bias=False gives the "without conv
    bias" variant (the anchor of section 4).
  * stem: 7x7/2 pad 3 conv 64 -> MaxPool(3, 2, pad 0, ceil) -> 1x1 conv 64 ->
    3x3 conv 192 pad 1 -> MaxPool(3, 2, pad 0, ceil).  No separable conv.
  * inception (a/b type): 1x1 | 1x1 -> 3x3 p1 | 1x1 -> 3x3 p1 -> 3x3 p1 |
    pool -> 1x1 proj; concat in that order.  Pool = AvgPool(3, 1, 1, ceil,
    count_include_pad=True), except 5b: MaxPool(3, 1, 1, ceil).
  * 3c / 4e (stride-2 modules, no 1x1 branch): 1x1 -> 3x3 s2 p1 |
    1x1 -> 3x3 s1 p1 -> 3x3 s2 p1 | MaxPool(3, 2, pad 0, ceil) pass-through.
  * filter counts kept: 4c, 4d output 608; 4e outputs 1056; 5a input 1056.
  * head (HEAD version): F.avg_pool2d(kernel = feature-map height), i.e. a
    global average pool for square inputs -> flatten -> Linear(1024, classes).
    The Caffe prototxt / pre-e96d9f7 port uses a fixed AvgPool(7, 1, pad 0,
    ceil) instead (head="fixed7").  No dropout, no auxiliary heads.

Run: python caffe_bninception.py   (prints a JSON summary; --quick skips the input-size scan)
"""
# ---------------------------------------------------------------------------
# Shared measuring helpers (duplicated verbatim in every reference script so
# that each file stays standalone).
# ---------------------------------------------------------------------------
import json
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F


def count(module):
    return sum(p.numel() for p in module.parameters())


def param_split(model, extra_rules=()):
    """Split parameter counts by kind.

    Kinds: conv_weight, conv_bias, bn_weight (gamma), bn_bias (beta),
    linear_weight, linear_bias, plus anything an extra rule claims first.
    extra_rules: iterable of (predicate(module_name, module, param_name), kind).
    Also reports non-trainable buffers (BN running stats) separately.
    """
    split = {}
    for mname, mod in model.named_modules():
        for pname, p in mod.named_parameters(recurse=False):
            kind = None
            for pred, k in extra_rules:
                if pred(mname, mod, pname):
                    kind = k
                    break
            if kind is None:
                if isinstance(mod, nn.Conv2d):
                    kind = "conv_" + pname
                elif isinstance(mod, nn.modules.batchnorm._BatchNorm):
                    kind = "bn_" + pname
                elif isinstance(mod, nn.Linear):
                    kind = "linear_" + pname
                else:
                    kind = type(mod).__name__ + "_" + pname
            split[kind] = split.get(kind, 0) + p.numel()
    buffers = sum(b.numel() for n, b in model.named_buffers()
                  if not n.endswith("num_batches_tracked"))
    split["(buffers: running stats, not parameters)"] = buffers
    return split


def stage_shapes(model, size=224, batch=2, train=False):
    """Forward once with a hook on every top-level child; name -> [C, H, W]."""
    shapes = {}
    hooks = []

    def mk(name):
        def hook(_m, _inp, out):
            if isinstance(out, (tuple, list)):
                out = out[0]
            shapes[name] = "x".join(str(d) for d in out.shape[1:])
        return hook

    for name, child in model.named_children():
        hooks.append(child.register_forward_hook(mk(name)))
    model.train(train)
    with torch.no_grad():
        out = model(torch.randn(batch, 3, size, size))
    for h in hooks:
        h.remove()
    model.eval()
    if isinstance(out, (tuple, list)):
        outs = ["x".join(str(d) for d in o.shape[1:]) for o in out]
    else:
        outs = ["x".join(str(d) for d in out.shape[1:])]
    return shapes, outs


def _ranges(xs):
    xs = sorted(xs)
    out = []
    for x in xs:
        if out and x == out[-1][1] + 1:
            out[-1][1] = x
        else:
            out.append([x, x])
    return ["%d" % a if a == b else "%d-%d" % (a, b) for a, b in out]


def scan_min_size(model, hi=224, lo=1):
    """Square inputs from hi down to lo, eval mode, batch 1.

    first_failure_going_down: the first size (walking down from hi) whose
    forward raises; min_contiguous_ok: smallest s with every size s..hi OK;
    smallest_ok: smallest size that works at all; failing: all failing sizes.
    """
    if "--quick" in sys.argv:
        return {"skipped": "--quick given"}
    model.eval()
    ok, bad, first_err = [], [], None
    with torch.no_grad():
        for s in range(hi, lo - 1, -1):
            try:
                model(torch.randn(1, 3, s, s))
                ok.append(s)
            except Exception as e:  # noqa: BLE001 - we want any failure
                bad.append(s)
                if first_err is None:
                    first_err = (s, str(e).splitlines()[0][:160])
    res = {
        "first_failure_going_down": first_err[0] if first_err else None,
        "first_failure_error": first_err[1] if first_err else None,
        "min_contiguous_ok": (first_err[0] + 1) if first_err else lo,
        "smallest_ok": min(ok) if ok else None,
        "ok_sizes": _ranges(ok),
        "failing_sizes": _ranges(bad),
    }
    return res


def emit(summary):
    print(json.dumps(summary, indent=1))
# ---------------------------------------------------------------------------


class ConvBNReLU(nn.Module):
    def __init__(self, cin, cout, k, s=1, p=0, bias=True):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, kernel_size=k, stride=s, padding=p, bias=bias)
        self.bn = nn.BatchNorm2d(cout, eps=1e-05, momentum=0.1, affine=True)

    def forward(self, x):
        return F.relu(self.bn(self.conv(x)), inplace=True)


class InceptionA(nn.Module):
    """Stride-1 module with four branches."""

    def __init__(self, cin, c1, c3r, c3, cdr, cd, pp, pool="avg", bias=True):
        super().__init__()
        self.b1x1 = ConvBNReLU(cin, c1, 1, bias=bias)
        self.b3x3_reduce = ConvBNReLU(cin, c3r, 1, bias=bias)
        self.b3x3 = ConvBNReLU(c3r, c3, 3, 1, 1, bias=bias)
        self.double_3x3_reduce = ConvBNReLU(cin, cdr, 1, bias=bias)
        self.double_3x3_1 = ConvBNReLU(cdr, cd, 3, 1, 1, bias=bias)
        self.double_3x3_2 = ConvBNReLU(cd, cd, 3, 1, 1, bias=bias)
        if pool == "avg":
            self.pool = nn.AvgPool2d(3, stride=1, padding=1, ceil_mode=True, count_include_pad=True)
        else:
            self.pool = nn.MaxPool2d(3, stride=1, padding=1, ceil_mode=True)
        self.pool_proj = ConvBNReLU(cin, pp, 1, bias=bias)

    def forward(self, x):
        return torch.cat([
            self.b1x1(x),
            self.b3x3(self.b3x3_reduce(x)),
            self.double_3x3_2(self.double_3x3_1(self.double_3x3_reduce(x))),
            self.pool_proj(self.pool(x)),
        ], 1)


class InceptionB(nn.Module):
    """Stride-2 module (3c, 4e): no 1x1 branch, max-pool pass-through."""

    def __init__(self, cin, c3r, c3, cdr, cd, bias=True):
        super().__init__()
        self.b3x3_reduce = ConvBNReLU(cin, c3r, 1, bias=bias)
        self.b3x3 = ConvBNReLU(c3r, c3, 3, 2, 1, bias=bias)
        self.double_3x3_reduce = ConvBNReLU(cin, cdr, 1, bias=bias)
        self.double_3x3_1 = ConvBNReLU(cdr, cd, 3, 1, 1, bias=bias)
        self.double_3x3_2 = ConvBNReLU(cd, cd, 3, 2, 1, bias=bias)
        self.pool = nn.MaxPool2d(3, stride=2, padding=0, ceil_mode=True)

    def forward(self, x):
        return torch.cat([
            self.b3x3(self.b3x3_reduce(x)),
            self.double_3x3_2(self.double_3x3_1(self.double_3x3_reduce(x))),
            self.pool(x),
        ], 1)


class HeightAvgPool(nn.Module):
    """Cadene HEAD: F.avg_pool2d(x, kernel_size=x.shape[2])."""

    def forward(self, x):
        return F.avg_pool2d(x, kernel_size=x.shape[2])


class BNInception(nn.Module):
    def __init__(self, num_classes=1000, bias=True, head="global"):
        super().__init__()
        b = bias
        self.conv1 = ConvBNReLU(3, 64, 7, 2, 3, bias=b)
        self.pool1 = nn.MaxPool2d(3, stride=2, padding=0, ceil_mode=True)
        self.conv2_reduce = ConvBNReLU(64, 64, 1, bias=b)
        self.conv2 = ConvBNReLU(64, 192, 3, 1, 1, bias=b)
        self.pool2 = nn.MaxPool2d(3, stride=2, padding=0, ceil_mode=True)
        self.inception_3a = InceptionA(192, 64, 64, 64, 64, 96, 32, bias=b)
        self.inception_3b = InceptionA(256, 64, 64, 96, 64, 96, 64, bias=b)
        self.inception_3c = InceptionB(320, 128, 160, 64, 96, bias=b)
        self.inception_4a = InceptionA(576, 224, 64, 96, 96, 128, 128, bias=b)
        self.inception_4b = InceptionA(576, 192, 96, 128, 96, 128, 128, bias=b)
        self.inception_4c = InceptionA(576, 160, 128, 160, 128, 160, 128, bias=b)
        self.inception_4d = InceptionA(608, 96, 128, 192, 160, 192, 128, bias=b)
        self.inception_4e = InceptionB(608, 128, 192, 192, 256, bias=b)
        self.inception_5a = InceptionA(1056, 352, 192, 320, 160, 224, 128, bias=b)
        self.inception_5b = InceptionA(1024, 352, 192, 320, 192, 224, 128, pool="max", bias=b)
        if head == "global":
            self.global_pool = HeightAvgPool()
        else:  # "fixed7": Caffe prototxt / early port
            self.global_pool = nn.AvgPool2d(7, stride=1, padding=0, ceil_mode=True, count_include_pad=True)
        self.last_linear = nn.Linear(1024, num_classes)

    def forward(self, x):
        for name, mod in self.named_children():
            if name == "last_linear":
                x = x.view(x.size(0), -1)
            x = mod(x)
        return x


def variant(bias):
    m = BNInception(1000, bias=bias)
    return {
        "total_params": count(m),
        "split": param_split(m),
        "per_module_params": {n: count(c) for n, c in m.named_children() if count(c)},
    }


def main():
    ANCHOR = 11285224
    with_b = variant(True)
    without_b = variant(False)
    m = BNInception(1000, bias=True)
    summary = {
        "model": "Caffe-lineage BN-Inception (Cadene bninception port), 1000 classes",
        "with_conv_bias": with_b,
        "without_conv_bias": without_b,
        "anchor_section4": ANCHOR,
        "without_bias_matches_anchor": without_b["total_params"] == ANCHOR,
        "conv_bias_params": with_b["total_params"] - without_b["total_params"],
    }
    shapes, outs = stage_shapes(m, 224, batch=1, train=False)
    summary["stage_shapes_224(eval, CHW)"] = shapes
    summary["outputs_224"] = outs
    summary["min_input(eval, head=global)"] = scan_min_size(m)
    summary["min_input(eval, head=fixed7)"] = scan_min_size(BNInception(1000, head="fixed7"))
    # why sizes fail: in 3c/4e the stride-2 conv (pad 1) gives ceil(H/2) rows
    # but the pad-0 ceil max pool gives ceil((H-1)/2): they only agree when
    # the module's input H is even.
    ok_above = None if "--quick" in sys.argv else []
    m7 = BNInception(1000, head="fixed7").eval()
    with torch.no_grad():
        for s in (range(225, 257) if ok_above is not None else []):
            try:
                m7(torch.randn(1, 3, s, s))
                ok_above.append(s)
            except Exception:  # noqa: BLE001
                pass
    summary["sizes_225_to_256_that_work(head=fixed7)"] = _ranges(ok_above) if ok_above is not None else "skipped"
    emit(summary)
    assert without_b["total_params"] == ANCHOR


if __name__ == "__main__":
    main()
