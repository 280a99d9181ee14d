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
