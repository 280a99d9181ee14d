#!/usr/bin/env python3
"""Reference: zjZSTU/GoogLeNet plain `GoogLeNet` (py/models/googlenet.py, commit
c311a26, unchanged at HEAD a0801e4), re-written from a reading of that source
(no code copied).

Faithful points (all as in the source):
  * BasicConv2d = Conv2d(bias=False) -> ReLU.  There is NO BatchNorm at all
    (the BN constructor line is commented out too) and NO conv bias.
  * real 5x5 convs (pad 2) in the third branch; pool branch =
    MaxPool2d(3, 1, 1, ceil) + 1x1 projection.
  * stem: 7x7/2 pad 3 -> maxpool 3x3/2 (pad 0, ceil) -> 1x1 64 -> 3x3 192 pad 1
    -> maxpool 3x3/2 (pad 0, ceil); maxpool3 3x3/2 ceil after 3b; maxpool4 2x2/2
    ceil after 4e.
  * aux heads after 4a (512 ch) and 4d (528 ch): adaptive avg pool 4x4 ->
    1x1 conv 128 (no bias, no BN) -> ReLU -> flatten 2048 -> fc1 2048->1024 ->
    ReLU -> dropout 0.7 -> fc2 1024->classes.
  * main head: AdaptiveAvgPool2d(1) -> flatten -> Dropout(0.2) -> fc 1024->classes.

Run: python zjzstu_googlenet.py   (prints a JSON summary; --quick skips the input-size scan)
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
    """conv (no bias) -> ReLU; no BN module at all."""

    def __init__(self, cin, cout, **kw):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, bias=False, **kw)

    def forward(self, x):
        return F.relu(self.conv(x), inplace=True)


class Inception(nn.Module):
    # (in, #1x1, #3x3red, #3x3, #5x5red, #5x5, pool_proj)
    def __init__(self, cin, c1, c3r, c3, c5r, c5, pp):
        super().__init__()
        self.branch1 = BasicConv2d(cin, c1, kernel_size=1, stride=1, padding=0)
        self.branch2 = nn.Sequential(
            BasicConv2d(cin, c3r, kernel_size=1, stride=1, padding=0),
            BasicConv2d(c3r, c3, kernel_size=3, stride=1, padding=1))
        self.branch3 = nn.Sequential(
            BasicConv2d(cin, c5r, kernel_size=1, stride=1, padding=0),
            BasicConv2d(c5r, c5, kernel_size=5, stride=1, padding=2))
        self.branch4 = nn.Sequential(
            nn.MaxPool2d(3, stride=1, padding=1, ceil_mode=True),
            BasicConv2d(cin, pp, kernel_size=1, stride=1, padding=0))

    def forward(self, x):
        return torch.cat([self.branch1(x), self.branch2(x), self.branch3(x), self.branch4(x)], 1)


class InceptionAux(nn.Module):
    def __init__(self, cin, num_classes):
        super().__init__()
        self.conv = BasicConv2d(cin, 128, kernel_size=1, stride=1, padding=0)
        self.fc1 = nn.Linear(2048, 1024)
        self.fc2 = nn.Linear(1024, num_classes)

    def forward(self, x):
        x = F.adaptive_avg_pool2d(x, (4, 4))
        x = torch.flatten(self.conv(x), 1)
        x = F.relu(self.fc1(x), inplace=True)
        x = F.dropout(x, 0.7, training=self.training)
        return self.fc2(x)


class GoogLeNet(nn.Module):
    def __init__(self, num_classes=1000, aux_logits=True):
        super().__init__()
        self.aux_logits = aux_logits
        self.conv1 = BasicConv2d(3, 64, kernel_size=7, stride=2, padding=3)
        self.maxpool1 = nn.MaxPool2d(3, stride=2, padding=0, ceil_mode=True)
        self.conv2 = BasicConv2d(64, 64, kernel_size=1, stride=1, padding=0)
        self.conv3 = BasicConv2d(64, 192, kernel_size=3, stride=1, padding=1)
        self.maxpool2 = nn.MaxPool2d(3, stride=2, padding=0, ceil_mode=True)
        self.inception3a = Inception(192, 64, 96, 128, 16, 32, 32)
        self.inception3b = Inception(256, 128, 128, 192, 32, 96, 64)
        self.maxpool3 = nn.MaxPool2d(3, stride=2, ceil_mode=True)
        self.inception4a = Inception(480, 192, 96, 208, 16, 48, 64)
        self.inception4b = Inception(512, 160, 112, 224, 24, 64, 64)
        self.inception4c = Inception(512, 128, 128, 256, 24, 64, 64)
        self.inception4d = Inception(512, 112, 144, 288, 32, 64, 64)
        self.inception4e = Inception(528, 256, 160, 320, 32, 128, 128)
        self.maxpool4 = nn.MaxPool2d(2, stride=2, ceil_mode=True)
        self.inception5a = Inception(832, 256, 160, 320, 32, 128, 128)
        self.inception5b = Inception(832, 384, 192, 384, 48, 128, 128)
        if aux_logits:
            self.aux1 = InceptionAux(512, num_classes)
            self.aux2 = InceptionAux(528, num_classes)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.dropout = nn.Dropout(0.2)
        self.fc = nn.Linear(1024, num_classes)

    def forward(self, x):
        x = self.maxpool1(self.conv1(x))
        x = self.maxpool2(self.conv3(self.conv2(x)))
        x = self.inception3b(self.inception3a(x))
        x = self.maxpool3(x)
        x = self.inception4a(x)
        use_aux = self.training and self.aux_logits
        aux1 = self.aux1(x) if use_aux else None
        x = self.inception4d(self.inception4c(self.inception4b(x)))
        aux2 = self.aux2(x) if use_aux else None
        x = self.maxpool4(self.inception4e(x))
        x = self.inception5b(self.inception5a(x))
        x = self.fc(self.dropout(torch.flatten(self.avgpool(x), 1)))
        return (x, aux1, aux2) if use_aux else x


def main():
    PUBLISHED = 13370744
    m = GoogLeNet(1000, aux_logits=True)
    total = count(m)
    noaux_model = GoogLeNet(1000, aux_logits=False)
    summary = {
        "model": "zjZSTU GoogLeNet (plain: 5x5, no BN, no conv bias)",
        "num_classes": 1000,
        "total_params_with_aux": total,
        "published": PUBLISHED,
        "matches_published": total == PUBLISHED,
        "split_with_aux": param_split(m),
        "aux_heads_params(both)": sum(count(getattr(m, a)) for a in ("aux1", "aux2")),
        "aux_head_params_each": {a: count(getattr(m, a)) for a in ("aux1", "aux2")},
        "total_params_no_aux": count(noaux_model),
        "split_no_aux": param_split(noaux_model),
        "total_params_20_classes_with_aux": count(GoogLeNet(20, aux_logits=True)),
        "per_module_params(no aux)": {n: count(c) for n, c in noaux_model.named_children() if count(c)},
    }
    shapes, outs = stage_shapes(m, 224, batch=2, train=True)
    summary["stage_shapes_224(train mode, CHW)"] = shapes
    summary["outputs_224(train mode)"] = outs
    summary["min_input(eval)"] = scan_min_size(m)
    s = summary["min_input(eval)"].get("min_contiguous_ok", 15)
    m.train()
    with torch.no_grad():
        o = m(torch.randn(2, 3, s, s))
    summary["train_mode_ok_at_min"] = ["x".join(map(str, t.shape)) for t in o]
    emit(summary)
    assert total == PUBLISHED, total


if __name__ == "__main__":
    main()
