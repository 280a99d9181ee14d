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
