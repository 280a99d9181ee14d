#!/usr/bin/env python3
"""Reference: zjZSTU/GoogLeNet `GoogLeNet_BN` (py/models/googlenet_bn.py,
commit 5699171 "fix(googlenet_bn): 更新Inception 4c/d/e输入深度", unchanged at HEAD
a0801e4), re-written from a reading of that source (no code copied).

Faithful points (all as in the source):
  * BasicConv2d = Conv2d(bias=False) + BatchNorm2d(eps=1e-3) constructed, but
    forward is conv -> ReLU: the BN line is commented out, so the BN
    parameters exist (and are counted) but are never used.
  * 3c and 4e run at stride 1 (stride_num defaults to 1); downsampling is done
    by maxpool3 (3x3/2, pad 0, ceil) after 3c and maxpool4 (2x2/2, ceil) after
    4e.  The pass-through branch of 3c/4e is MaxPool2d(3, 1, 1, ceil).
  * 4c outputs 608 and 4e outputs 1056 (filter counts kept from the table).
  * inception avg pools: AvgPool2d(3, 1, 1, ceil, count_include_pad=True);
    5b pool branch: MaxPool2d(3, 1, 1, ceil) + 1x1 128.
  * aux heads after 4a (576 ch) and 4d (608 ch): adaptive avg pool 4x4 ->
    BasicConv2d 1x1 -> 128 (no bias; BN built, not called) -> ReLU -> flatten
    2048 -> fc1 2048->1024 -> ReLU -> dropout 0.7 -> fc2 1024->classes.
  * main head: AdaptiveAvgPool2d(1) -> flatten -> Dropout(0.2) -> fc 1024->classes.

Run: python zjzstu_googlenet_bn.py   (prints a JSON summary; --quick skips the input-size scan)
"""
import os
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
# shared measuring helpers (JSON summary, parameter split, shapes, size scan)
from harness import count, emit, param_split, scan_min_size, stage_shapes  # noqa: E402


class BasicConv2d(nn.Module):
    """conv (no bias) + BN(eps 1e-3) that is built but, like the source, not
    applied unless apply_bn=True."""

    def __init__(self, cin, cout, apply_bn=False, **kw):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, bias=False, **kw)
        self.bn = nn.BatchNorm2d(cout, eps=0.001)
        self.apply_bn = apply_bn

    def forward(self, x):
        x = self.conv(x)
        if self.apply_bn:
            x = self.bn(x)
        return F.relu(x, inplace=True)


class Inception(nn.Module):
    # (in, #1x1, #3x3red, #3x3, #dbl_red, #dbl, pool_proj, pool_type)
    def __init__(self, cin, c1, c3r, c3, cdr, cd, pp, pool_type, apply_bn=False):
        super().__init__()
        cb = lambda i, o, **kw: BasicConv2d(i, o, apply_bn=apply_bn, **kw)
        self.branch1 = None if c1 == 0 else cb(cin, c1, kernel_size=1, stride=1, padding=0)
        self.branch2 = nn.Sequential(
            cb(cin, c3r, kernel_size=1, stride=1, padding=0),
            cb(c3r, c3, kernel_size=3, stride=1, padding=1))
        self.branch3 = nn.Sequential(
            cb(cin, cdr, kernel_size=1, stride=1, padding=0),
            cb(cdr, cd, kernel_size=3, stride=1, padding=1),
            cb(cd, cd, kernel_size=3, stride=1, padding=1))
        if pp != 0:
            if pool_type == "max":
                pool = nn.MaxPool2d(3, stride=1, padding=1, ceil_mode=True)
            else:
                pool = nn.AvgPool2d(3, stride=1, padding=1, ceil_mode=True)
            self.branch4 = nn.Sequential(pool, cb(cin, pp, kernel_size=1, stride=1, padding=0))
        else:  # pass-through: bare max pool, stride 1
            self.branch4 = nn.MaxPool2d(3, stride=1, padding=1, ceil_mode=True)

    def forward(self, x):
        outs = [self.branch2(x), self.branch3(x), self.branch4(x)]
        if self.branch1 is not None:
            outs.insert(0, self.branch1(x))
        return torch.cat(outs, 1)


class InceptionAux(nn.Module):
    def __init__(self, cin, num_classes, apply_bn=False):
        super().__init__()
        self.conv = BasicConv2d(cin, 128, apply_bn=apply_bn, kernel_size=1, stride=1, padding=0)
        self.fc1 = nn.Linear(2048, 1024)
        self.fc2 = nn.Linear(1024, num_classes)

    def forward(self, x):
        x = F.adaptive_avg_pool2d(x, (4, 4))
        x = self.conv(x)
        x = torch.flatten(x, 1)
        x = F.relu(self.fc1(x), inplace=True)
        x = F.dropout(x, 0.7, training=self.training)
        return self.fc2(x)


class GoogLeNetBN(nn.Module):
    def __init__(self, num_classes=1000, aux_logits=True, apply_bn=False):
        super().__init__()
        cb = lambda i, o, **kw: BasicConv2d(i, o, apply_bn=apply_bn, **kw)
        inc = lambda *a, **kw: Inception(*a, apply_bn=apply_bn, **kw)
        self.aux_logits = aux_logits
        self.conv1 = cb(3, 64, kernel_size=7, stride=2, padding=3)
        self.maxpool1 = nn.MaxPool2d(3, stride=2, padding=0, ceil_mode=True)
        self.conv2 = cb(64, 64, kernel_size=1, stride=1, padding=0)
        self.conv3 = cb(64, 192, kernel_size=3, stride=1, padding=1)
        self.maxpool2 = nn.MaxPool2d(3, stride=2, padding=0, ceil_mode=True)
        self.inception3a = inc(192, 64, 64, 64, 64, 96, 32, pool_type="avg")
        self.inception3b = inc(256, 64, 64, 96, 64, 96, 64, pool_type="avg")
        self.inception3c = inc(320, 0, 128, 160, 64, 96, 0, pool_type="max")
        self.maxpool3 = nn.MaxPool2d(3, stride=2, ceil_mode=True)
        self.inception4a = inc(576, 224, 64, 96, 96, 128, 128, pool_type="avg")
        self.inception4b = inc(576, 192, 96, 128, 96, 128, 128, pool_type="avg")
        self.inception4c = inc(576, 160, 128, 160, 128, 160, 128, pool_type="avg")
        self.inception4d = inc(608, 96, 128, 192, 160, 192, 128, pool_type="avg")
        self.inception4e = inc(608, 0, 128, 192, 192, 256, 0, pool_type="max")
        self.maxpool4 = nn.MaxPool2d(2, stride=2, ceil_mode=True)
        self.inception5a = inc(1056, 352, 192, 320, 160, 224, 128, pool_type="avg")
        self.inception5b = inc(1024, 352, 192, 320, 192, 224, 128, pool_type="max")
        if aux_logits:
            self.aux1 = InceptionAux(576, num_classes, apply_bn=apply_bn)
            self.aux2 = InceptionAux(608, num_classes, apply_bn=apply_bn)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.dropout = nn.Dropout(0.2)
        self.fc = nn.Linear(1024, num_classes)

    def forward(self, x):
        x = self.maxpool1(self.conv1(x))
        x = self.maxpool2(self.conv3(self.conv2(x)))
        x = self.inception3a(x)
        x = self.inception3b(x)
        x = self.inception3c(x)
        x = self.maxpool3(x)
        x = self.inception4a(x)
        use_aux = self.training and self.aux_logits
        aux1 = self.aux1(x) if use_aux else None
        x = self.inception4b(x)
        x = self.inception4c(x)
        x = self.inception4d(x)
        aux2 = self.aux2(x) if use_aux else None
        x = self.inception4e(x)
        x = self.maxpool4(x)
        x = self.inception5a(x)
        x = self.inception5b(x)
        x = self.dropout(torch.flatten(self.avgpool(x), 1))
        x = self.fc(x)
        # The source's variable names swap twice; what it finally returns in
        # training is (main, aux-after-4a, aux-after-4d).
        return (x, aux1, aux2) if use_aux else x


def main():
    PUBLISHED = 17683640
    m = GoogLeNetBN(1000, aux_logits=True)
    total = count(m)
    bn = sum(p.numel() for n, p in m.named_parameters() if ".bn." in n)
    aux = sum(count(getattr(m, a)) for a in ("aux1", "aux2"))
    noaux = count(GoogLeNetBN(1000, aux_logits=False))
    summary = {
        "model": "zjZSTU GoogLeNet_BN (faithful: BN built but not called)",
        "num_classes": 1000,
        "total_params_with_aux": total,
        "published": PUBLISHED,
        "matches_published": total == PUBLISHED,
        "split_with_aux": param_split(m),
        "aux_heads_params(both)": aux,
        "aux_head_params_each": {a: count(getattr(m, a)) for a in ("aux1", "aux2")},
        "total_params_no_aux": noaux,
        "bn_params_counted_but_unused(with aux)": bn,
        "total_with_aux_excluding_bn": total - bn,
        "total_no_aux_excluding_bn": noaux - sum(
            p.numel() for n, p in GoogLeNetBN(1000, aux_logits=False).named_parameters() if ".bn." in n),
        "total_params_20_classes_with_aux": count(GoogLeNetBN(20, aux_logits=True)),
        "total_params_20_classes_no_aux": count(GoogLeNetBN(20, aux_logits=False)),
        "per_module_params(no aux, BN included)": {
            n: count(c) for n, c in GoogLeNetBN(1000, aux_logits=False).named_children() if count(c)},
    }
    shapes, outs = stage_shapes(m, 224, batch=2, train=True)
    summary["stage_shapes_224(train mode, CHW)"] = shapes
    summary["outputs_224(train mode)"] = outs
    summary["min_input(eval)"] = scan_min_size(m)
    # aux heads use adaptive pooling: check training-mode forward at the eval minimum
    s = summary["min_input(eval)"].get("min_contiguous_ok", 15)
    m.train()
    with torch.no_grad():
        o = m(torch.randn(2, 3, s, s))
    summary["train_mode_ok_at_min"] = ["x".join(map(str, t.shape)) for t in o]
    # the "fixed" variant (BN actually applied) has the same parameters
    fixed = GoogLeNetBN(1000, aux_logits=True, apply_bn=True)
    summary["bn_applied_variant_total"] = count(fixed)
    summary["bn_applied_variant_stage_shapes_equal"] = stage_shapes(fixed, 224, 2, True)[0] == shapes
    emit(summary)
    assert total == PUBLISHED, total


if __name__ == "__main__":
    main()
