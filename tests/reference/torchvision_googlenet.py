#!/usr/bin/env python3
"""Reference: torchvision `googlenet` (torchvision/models/googlenet.py, as in
torchvision 0.26.0), re-written from a reading of that source (no code copied).
If torchvision is importable, its own model is built too
(googlenet(weights=None, aux_logits=..., init_weights=False)) and compared:
parameter counts, state_dict keys/shapes, and outputs with shared weights.

Structure (as in the source):
  * BasicConv2d = Conv2d(bias=False) -> BatchNorm2d(eps=1e-3) -> ReLU.
  * stem: 7x7/2 pad 3 -> MaxPool(3, 2, ceil) -> 1x1 64 -> 3x3 192 pad 1 ->
    MaxPool(3, 2, ceil); maxpool3 = MaxPool(3, 2, ceil) after 3b;
    maxpool4 = MaxPool(2, 2, ceil) after 4e.
  * inception: 1x1 | 1x1 -> 3x3 p1 | 1x1 -> 3x3 p1 (the "5x5" branch uses a
    3x3 kernel) | MaxPool(3, 1, 1, ceil) -> 1x1.
  * aux (after 4a: 512, after 4d: 528): adaptive avg pool 4x4 -> BasicConv2d
    1x1 128 (conv no bias + BN + ReLU) -> flatten 2048 -> fc1 2048->1024 ->
    ReLU -> Dropout(0.7) -> fc2 1024->classes.
  * main head: AdaptiveAvgPool2d(1) -> flatten -> Dropout(0.2) -> fc 1024->classes.

Run: python torchvision_googlenet.py   (prints a JSON summary; --quick skips the input-size scan)
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
    def __init__(self, cin, cout, **kw):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, bias=False, **kw)
        self.bn = nn.BatchNorm2d(cout, eps=0.001)

    def forward(self, x):
        return F.relu(self.bn(self.conv(x)), inplace=True)


class Inception(nn.Module):
    # (in, #1x1, #3x3red, #3x3, #"5x5"red, #"5x5", pool_proj)
    def __init__(self, cin, c1, c3r, c3, c5r, c5, pp):
        super().__init__()
        self.branch1 = BasicConv2d(cin, c1, kernel_size=1)
        self.branch2 = nn.Sequential(BasicConv2d(cin, c3r, kernel_size=1),
                                     BasicConv2d(c3r, c3, kernel_size=3, padding=1))
        self.branch3 = nn.Sequential(BasicConv2d(cin, c5r, kernel_size=1),
                                     BasicConv2d(c5r, c5, kernel_size=3, padding=1))
        self.branch4 = nn.Sequential(nn.MaxPool2d(3, stride=1, padding=1, ceil_mode=True),
                                     BasicConv2d(cin, pp, kernel_size=1))

    def forward(self, x):
        return torch.cat([self.branch1(x), self.branch2(x), self.branch3(x), self.branch4(x)], 1)


class InceptionAux(nn.Module):
    def __init__(self, cin, num_classes, dropout=0.7):
        super().__init__()
        self.conv = BasicConv2d(cin, 128, kernel_size=1)
        self.fc1 = nn.Linear(2048, 1024)
        self.fc2 = nn.Linear(1024, num_classes)
        self.dropout = nn.Dropout(p=dropout)

    def forward(self, x):
        x = F.adaptive_avg_pool2d(x, (4, 4))
        x = torch.flatten(self.conv(x), 1)
        x = F.relu(self.fc1(x), inplace=True)
        return self.fc2(self.dropout(x))


class GoogLeNet(nn.Module):
    def __init__(self, num_classes=1000, aux_logits=True):
        super().__init__()
        self.aux_logits = aux_logits
        self.conv1 = BasicConv2d(3, 64, kernel_size=7, stride=2, padding=3)
        self.maxpool1 = nn.MaxPool2d(3, stride=2, ceil_mode=True)
        self.conv2 = BasicConv2d(64, 64, kernel_size=1)
        self.conv3 = BasicConv2d(64, 192, kernel_size=3, padding=1)
        self.maxpool2 = nn.MaxPool2d(3, stride=2, ceil_mode=True)
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
        else:
            self.aux1 = None
            self.aux2 = None
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.dropout = nn.Dropout(p=0.2)
        self.fc = nn.Linear(1024, num_classes)

    def forward(self, x):
        x = self.maxpool1(self.conv1(x))
        x = self.maxpool2(self.conv3(self.conv2(x)))
        x = self.maxpool3(self.inception3b(self.inception3a(x)))
        x = self.inception4a(x)
        aux1 = self.aux1(x) if (self.aux1 is not None and self.training) else None
        x = self.inception4d(self.inception4c(self.inception4b(x)))
        aux2 = self.aux2(x) if (self.aux2 is not None and self.training) else None
        x = self.maxpool4(self.inception4e(x))
        x = self.inception5b(self.inception5a(x))
        x = self.fc(self.dropout(torch.flatten(self.avgpool(x), 1)))
        # torchvision returns GoogLeNetOutputs(logits, aux_logits2, aux_logits1)
        return (x, aux2, aux1) if (self.training and self.aux_logits) else x


def compare_with_torchvision(summary):
    try:
        import warnings
        warnings.filterwarnings("ignore")
        import torchvision
        from torchvision.models import googlenet
    except Exception as e:  # noqa: BLE001
        summary["torchvision"] = "not importable: %s" % e
        return
    res = {"version": torchvision.__version__}
    for aux in (True, False):
        tv = googlenet(weights=None, aux_logits=aux, init_weights=False)
        mine = GoogLeNet(1000, aux_logits=aux)
        sa = {k: tuple(v.shape) for k, v in tv.state_dict().items()}
        sb = {k: tuple(v.shape) for k, v in mine.state_dict().items()}
        mine.load_state_dict(tv.state_dict())
        tv.eval(); mine.eval()
        x = torch.randn(2, 3, 224, 224)
        with torch.no_grad():
            diff = (tv(x) - mine(x)).abs().max().item()
        res["aux_%s" % aux] = {
            "torchvision_count": count(tv),
            "mine_count": count(mine),
            "state_dict_keys_and_shapes_equal": sa == sb,
            "eval_output_max_abs_diff": diff,
            "torchvision_stage_shapes_equal": stage_shapes(tv, 224, 2, aux)[0]
            == stage_shapes(mine, 224, 2, aux)[0],
        }
    res["weights_meta_num_params"] = torchvision.models.GoogLeNet_Weights.IMAGENET1K_V1.meta["num_params"]
    res["weights_meta_min_size"] = list(torchvision.models.GoogLeNet_Weights.IMAGENET1K_V1.meta["min_size"])
    summary["torchvision"] = res


def main():
    m = GoogLeNet(1000, aux_logits=True)
    m0 = GoogLeNet(1000, aux_logits=False)
    summary = {
        "model": "torchvision googlenet (3x3 in place of 5x5, conv no bias + BN eps 1e-3)",
        "num_classes": 1000,
        "total_params_aux_on": count(m),
        "total_params_aux_off": count(m0),
        "split_aux_on": param_split(m),
        "split_aux_off": param_split(m0),
        "aux_head_params_each": {a: count(getattr(m, a)) for a in ("aux1", "aux2")},
        "per_module_params(aux off)": {n: count(c) for n, c in m0.named_children() if count(c)},
    }
    shapes, outs = stage_shapes(m, 224, batch=2, train=True)
    summary["stage_shapes_224(train mode, CHW)"] = shapes
    summary["outputs_224(train mode: logits, aux2, aux1)"] = outs
    summary["min_input(eval)"] = scan_min_size(m)
    s = summary["min_input(eval)"].get("min_contiguous_ok", 15)
    m.train()
    with torch.no_grad():
        o = m(torch.randn(2, 3, s, s))
    summary["train_mode_ok_at_min(batch 2)"] = ["x".join(map(str, t.shape)) for t in o]
    compare_with_torchvision(summary)
    emit(summary)


if __name__ == "__main__":
    main()
