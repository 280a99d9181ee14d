"""Shared measuring helpers for the reference scripts in this directory.

Each script (``zjzstu_googlenet_bn.py``, ``caffe_bninception.py``, ...) keeps
only its model definition and its ``main()``; it imports from here the pieces
every summary is built from:

  * ``count``         - number of parameters of a module;
  * ``param_split``   - parameter counts by kind (conv/bn/linear weight/bias,
                        plus caller rules) and the BN running-stat buffers;
  * ``stage_shapes``  - output shape of every top-level child at one size;
  * ``scan_min_size`` - the scan of square input sizes (skipped by ``--quick``);
  * ``quick``         - whether ``--quick`` was given;
  * ``ranges``        - sorted integers written as "a-b" runs;
  * ``emit``          - print the JSON summary.

Scripts put this directory on ``sys.path`` themselves, so they can be run
from anywhere: ``python tests/reference/FILE.py [--quick]``.
"""
import json
import sys

import torch
import torch.nn as nn


def quick():
    """True when the script was run with --quick (skip the input-size scans)."""
    return "--quick" in sys.argv


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


def ranges(xs):
    """Sorted integers as runs: [1, 2, 3, 7] -> ["1-3", "7"]."""
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
    if quick():
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
        "ok_sizes": ranges(ok),
        "failing_sizes": ranges(bad),
    }
    return res


def emit(summary):
    print(json.dumps(summary, indent=1))
