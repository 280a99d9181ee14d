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
import os
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
# shared measuring helpers (JSON summary, parameter split, shapes, size scan)
from harness import count, emit, param_split, quick, ranges, scan_min_size, stage_shapes  # noqa: E402


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
    ok_above = None if quick() else []
    m7 = BNInception(1000, head="fixed7").eval()
    with torch.no_grad():
        for s in (range(225, 257) if ok_above is not None else []):
            try:
                m7(torch.randn(1, 3, s, s))
                ok_above.append(s)
            except Exception:  # noqa: BLE001
                pass
    summary["sizes_225_to_256_that_work(head=fixed7)"] = ranges(ok_above) if ok_above is not None else "skipped"
    emit(summary)
    assert without_b["total_params"] == ANCHOR


if __name__ == "__main__":
    main()
