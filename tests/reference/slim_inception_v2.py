#!/usr/bin/env python3
"""Reference: TF-slim `inception_v2` (tensorflow/models
research/slim/nets/inception_v2.py with nets/inception_utils.py
inception_arg_scope, and tf_slim layers defaults), expressed in PyTorch terms
(no code copied).  Module names follow slim's scopes.

What slim does (read from the sources):
  * padding 'SAME' everywhere (TF rule: out = ceil(H/s); total pad =
    max((out-1)*s + k - H, 0); the extra row/col goes bottom/right).
    SAME avg pools do NOT count the padding (count_include_pad=False); SAME
    max pools ignore it.
  * slim.conv2d inside inception_arg_scope: normalizer_fn=batch_norm, so NO
    bias (tf_slim: use_bias = not normalizer_fn and biases_initializer);
    slim.batch_norm defaults center=True, scale=False -> only beta is a
    trainable variable, no gamma; epsilon 0.001, decay 0.9997 (moving
    mean/variance are non-trainable); ReLU after BN.
  * Conv2d_1a_7x7 = slim.separable_conv2d(depth 64, 7x7, depth_multiplier=8,
    stride 2): depthwise 7x7/2 3->24 (no bias) then pointwise 1x1 24->64.
    separable_conv2d is NOT in inception_arg_scope (that only covers
    slim.conv2d), so it keeps its own defaults: normalizer_fn=None ->
    pointwise BIAS (64) and no BN; activation ReLU.
    (use_separable_conv=False instead gives a plain 7x7/2 conv 3->64 + BN.)
  * scopes are shifted by one vs. the paper: Mixed_3b=3a, Mixed_3c=3b,
    Mixed_4a=3c, Mixed_4b..4e=4a..4d, Mixed_5a=4e, Mixed_5b=5a, Mixed_5c=5b.
  * Mixed_4d (paper 4c) and Mixed_4e (paper 4d) use pool projection 96.
  * Mixed_4a / Mixed_5a: 1x1 -> 3x3/2 | 1x1 -> 3x3 -> 3x3/2 | MaxPool 3x3/2.
  * Mixed_5c pool branch: MaxPool 3x3/1 SAME -> 1x1 128; others avg pool 3x3/1.
  * head: AvgPool VALID with kernel min(H,7) x min(W,7) ("reduced kernel for
    small input") -> Dropout(keep 0.8) -> 1x1 conv 1024->classes WITH bias,
    no BN, no activation -> squeeze.  No auxiliary heads.
  * slim's ImageNet checkpoints use 1001 classes (class 0 = background).

Run: python slim_inception_v2.py   (prints a JSON summary; --quick skips the input-size scan)
"""
import math
import os
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
# shared measuring helpers (JSON summary, parameter split, shapes, size scan)
from harness import count, emit, scan_min_size, stage_shapes  # noqa: E402


def _same_pads(size, k, s):
    out = math.ceil(size / s)
    total = max((out - 1) * s + k - size, 0)
    return total // 2, total - total // 2


class Conv2dSame(nn.Conv2d):
    """nn.Conv2d with TensorFlow 'SAME' padding (asymmetric when needed)."""

    def __init__(self, cin, cout, k, stride=1, bias=False, groups=1):
        super().__init__(cin, cout, k, stride=stride, padding=0, bias=bias, groups=groups)

    def forward(self, x):
        kh, kw = self.kernel_size
        sh, sw = self.stride
        t, b = _same_pads(x.shape[2], kh, sh)
        l, r = _same_pads(x.shape[3], kw, sw)
        return super().forward(F.pad(x, (l, r, t, b)))


class MaxPoolSame(nn.Module):
    def __init__(self, k, s):
        super().__init__()
        self.k, self.s = k, s

    def forward(self, x):
        t, b = _same_pads(x.shape[2], self.k, self.s)
        l, r = _same_pads(x.shape[3], self.k, self.s)
        x = F.pad(x, (l, r, t, b), value=float("-inf"))
        return F.max_pool2d(x, self.k, self.s)


class AvgPoolSame(nn.Module):
    """TF SAME average pool: padded cells are excluded from the divisor."""

    def __init__(self, k, s):
        super().__init__()
        self.k, self.s = k, s

    def forward(self, x):
        t, b = _same_pads(x.shape[2], self.k, self.s)
        l, r = _same_pads(x.shape[3], self.k, self.s)
        ones = torch.ones_like(x[:1, :1])
        num = F.avg_pool2d(F.pad(x, (l, r, t, b)), self.k, self.s)
        den = F.avg_pool2d(F.pad(ones, (l, r, t, b)), self.k, self.s)
        return num / den


class SlimBatchNorm(nn.Module):
    """slim.batch_norm(center=True, scale=False): trainable beta only."""

    def __init__(self, c, eps=0.001, decay=0.9997, scale=False):
        super().__init__()
        self.eps, self.momentum = eps, 1.0 - decay
        self.beta = nn.Parameter(torch.zeros(c))
        self.gamma = nn.Parameter(torch.ones(c)) if scale else None
        self.register_buffer("moving_mean", torch.zeros(c))
        self.register_buffer("moving_variance", torch.ones(c))

    def forward(self, x):
        return F.batch_norm(x, self.moving_mean, self.moving_variance, self.gamma, self.beta,
                            self.training, self.momentum, self.eps)


class SlimConv(nn.Module):
    """slim.conv2d under inception_arg_scope: conv (no bias) -> BN(beta) -> ReLU."""

    def __init__(self, cin, cout, k, stride=1, bn_scale=False):
        super().__init__()
        self.conv = Conv2dSame(cin, cout, k, stride, bias=False)
        self.BatchNorm = SlimBatchNorm(cout, scale=bn_scale)

    def forward(self, x):
        return F.relu(self.BatchNorm(self.conv(x)))


class SeparableConv(nn.Module):
    """slim.separable_conv2d defaults: depthwise (no bias) -> pointwise + bias -> ReLU; no BN."""

    def __init__(self, cin, cout, k, stride, depth_multiplier):
        super().__init__()
        self.depthwise = Conv2dSame(cin, cin * depth_multiplier, k, stride, bias=False, groups=cin)
        self.pointwise = nn.Conv2d(cin * depth_multiplier, cout, 1, bias=True)

    def forward(self, x):
        return F.relu(self.pointwise(self.depthwise(x)))


class Mixed(nn.Module):
    """Stride-1 module: (#1x1, #3x3red, #3x3, #dblred, #dbl, pool_type, pool_proj)."""

    def __init__(self, cin, c1, c3r, c3, cdr, cd, pool, pp, bn_scale=False):
        super().__init__()
        C = lambda i, o, k, s=1: SlimConv(i, o, k, s, bn_scale)
        self.Branch_0 = C(cin, c1, 1)
        self.Branch_1 = nn.Sequential(C(cin, c3r, 1), C(c3r, c3, 3))
        self.Branch_2 = nn.Sequential(C(cin, cdr, 1), C(cdr, cd, 3), C(cd, cd, 3))
        self.Branch_3 = nn.Sequential(AvgPoolSame(3, 1) if pool == "avg" else MaxPoolSame(3, 1),
                                      C(cin, pp, 1))

    def forward(self, x):
        return torch.cat([self.Branch_0(x), self.Branch_1(x), self.Branch_2(x), self.Branch_3(x)], 1)


class MixedReduce(nn.Module):
    """Stride-2 module (Mixed_4a = paper 3c, Mixed_5a = paper 4e)."""

    def __init__(self, cin, c3r, c3, cdr, cd, bn_scale=False):
        super().__init__()
        C = lambda i, o, k, s=1: SlimConv(i, o, k, s, bn_scale)
        self.Branch_0 = nn.Sequential(C(cin, c3r, 1), C(c3r, c3, 3, 2))
        self.Branch_1 = nn.Sequential(C(cin, cdr, 1), C(cdr, cd, 3), C(cd, cd, 3, 2))
        self.Branch_2 = MaxPoolSame(3, 2)

    def forward(self, x):
        return torch.cat([self.Branch_0(x), self.Branch_1(x), self.Branch_2(x)], 1)


class ReducedAvgPool(nn.Module):
    """AvgPool_1a: VALID, kernel min(H,7) x min(W,7), stride 1."""

    def forward(self, x):
        return F.avg_pool2d(x, (min(x.shape[2], 7), min(x.shape[3], 7)), 1)


class InceptionV2(nn.Module):
    def __init__(self, num_classes=1001, use_separable_conv=True, bn_scale=False):
        super().__init__()
        s = bn_scale
        if use_separable_conv:
            self.Conv2d_1a_7x7 = SeparableConv(3, 64, 7, 2, depth_multiplier=min(int(64 / 3), 8))
        else:
            self.Conv2d_1a_7x7 = SlimConv(3, 64, 7, 2, s)
        self.MaxPool_2a_3x3 = MaxPoolSame(3, 2)
        self.Conv2d_2b_1x1 = SlimConv(64, 64, 1, 1, s)
        self.Conv2d_2c_3x3 = SlimConv(64, 192, 3, 1, s)
        self.MaxPool_3a_3x3 = MaxPoolSame(3, 2)
        self.Mixed_3b = Mixed(192, 64, 64, 64, 64, 96, "avg", 32, s)      # paper 3a
        self.Mixed_3c = Mixed(256, 64, 64, 96, 64, 96, "avg", 64, s)      # paper 3b
        self.Mixed_4a = MixedReduce(320, 128, 160, 64, 96, s)             # paper 3c
        self.Mixed_4b = Mixed(576, 224, 64, 96, 96, 128, "avg", 128, s)   # paper 4a
        self.Mixed_4c = Mixed(576, 192, 96, 128, 96, 128, "avg", 128, s)  # paper 4b
        self.Mixed_4d = Mixed(576, 160, 128, 160, 128, 160, "avg", 96, s)  # paper 4c
        self.Mixed_4e = Mixed(576, 96, 128, 192, 160, 192, "avg", 96, s)   # paper 4d
        self.Mixed_5a = MixedReduce(576, 128, 192, 192, 256, s)           # paper 4e
        self.Mixed_5b = Mixed(1024, 352, 192, 320, 160, 224, "avg", 128, s)  # paper 5a
        self.Mixed_5c = Mixed(1024, 352, 192, 320, 192, 224, "max", 128, s)  # paper 5b
        self.AvgPool_1a = ReducedAvgPool()
        self.Dropout_1b = nn.Dropout(p=0.2)  # keep_prob 0.8
        self.Conv2d_1c_1x1 = nn.Conv2d(1024, num_classes, 1, bias=True)

    def forward(self, x):
        for _, mod in self.named_children():
            x = mod(x)
        return x.squeeze(3).squeeze(2)  # spatial_squeeze (TF errors if not 1x1)


def slim_split(m):
    rules = [
        (lambda n, mod, p: n.endswith("depthwise"), "separable_depthwise_weight"),
        (lambda n, mod, p: n.endswith("pointwise"), "separable_pointwise_" + "{p}"),
        (lambda n, mod, p: n == "Conv2d_1c_1x1", "logits_1x1conv_" + "{p}"),
    ]
    split = {}
    for mname, mod in m.named_modules():
        for pname, p in mod.named_parameters(recurse=False):
            kind = None
            for pred, k in rules:
                if pred(mname, mod, pname):
                    kind = k.replace("{p}", pname)
                    break
            if kind is None:
                if isinstance(mod, SlimBatchNorm):
                    kind = "bn_" + pname
                elif isinstance(mod, nn.Conv2d):
                    kind = "conv_" + pname
                else:
                    kind = type(mod).__name__ + "_" + pname
            split[kind] = split.get(kind, 0) + p.numel()
    split["(non-trainable: BN moving_mean + moving_variance)"] = sum(b.numel() for b in m.buffers())
    return split


def main():
    summary = {"model": "TF-slim inception_v2 (use_separable_conv=True, BN scale=False)"}
    for nc in (1001, 1000):
        m = InceptionV2(nc)
        bn_ch = sum(mod.beta.numel() for mod in m.modules() if isinstance(mod, SlimBatchNorm))
        summary["classes_%d" % nc] = {
            "trainable_params": count(m),
            "split": slim_split(m),
            "all_variables_incl_moving_stats": count(m) + sum(b.numel() for b in m.buffers()),
            "if_bn_had_gamma(scale=True)": count(InceptionV2(nc, bn_scale=True)),
            "bn_channels": bn_ch,
            "use_separable_conv=False": count(InceptionV2(nc, use_separable_conv=False)),
            "use_separable_conv=False_and_gamma": count(
                InceptionV2(nc, use_separable_conv=False, bn_scale=True)),
        }
    m = InceptionV2(1000)
    summary["per_module_params(1000 classes)"] = {n: count(c) for n, c in m.named_children() if count(c)}
    summary["Conv2d_1a_7x7_params"] = {
        "separable": count(m.Conv2d_1a_7x7),
        "plain_conv_plus_bn_beta": count(InceptionV2(1000, use_separable_conv=False).Conv2d_1a_7x7)}
    shapes, outs = stage_shapes(m, 224, batch=1, train=False)
    summary["stage_shapes_224(eval, CHW)"] = shapes
    summary["outputs_224"] = outs
    summary["min_input(eval)"] = scan_min_size(m)
    emit(summary)


if __name__ == "__main__":
    main()
