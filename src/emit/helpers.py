# The helper code of the PyTorch modules `archcheck emit --pytorch` writes (src/emit.rs).
# Each section, from its `## NAME` line to the next, is copied into the modules that need
# it, without that line and the blank lines around it. The padding and window arithmetic
# here is the run-time half of src/ir/plan.rs: tests/emit_helpers.rs runs this file and
# compares its numbers with the plan's.

## imports

import math

import torch
import torch.nn as nn
import torch.nn.functional as F


## scope

class Scope(nn.Module):
    """The layers under one prefix of the node names; it computes nothing itself."""



## same_pad

def _same_pads(x, kernel, stride):
    """TF's SAME padding for x as F.pad takes it, (left, right, top, bottom): the output is
    ceil(in / stride), the total padding max((out - 1) * stride + kernel - in, 0), the odd
    pixel at the bottom or right."""
    pads = []
    for n, k, s in zip(x.shape[-2:], kernel, stride):
        total = max((-(-n // s) - 1) * s + k - n, 0)
        pads.append((total // 2, total - total // 2))
    (top, bottom), (left, right) = pads
    return (left, right, top, bottom)


def _same_pad(x, kernel, stride, value=0.0):
    """x padded for a SAME conv or pool with this kernel and stride."""
    pads = _same_pads(x, kernel, stride)
    if not any(pads):
        return x
    return F.pad(x, pads, value=value)


## same_avg

def _same_avg_pool2d(x, kernel, stride):
    """TF's SAME average pool: each window divides by the inputs it covers, padding left out."""
    pads = _same_pads(x, kernel, stride)
    total = F.avg_pool2d(F.pad(x, pads), kernel, stride, divisor_override=1)
    ones = torch.ones((1, 1) + tuple(x.shape[-2:]), dtype=x.dtype, device=x.device)
    count = F.avg_pool2d(F.pad(ones, pads), kernel, stride, divisor_override=1)
    return total / count


## caffe_ceil

def _caffe_ceil(y, x, kernel, stride, padding, max_pool):
    """Caffe's ceil rule: on an axis without padding it keeps a last window that starts past
    the input, which PyTorch drops. Extends y, the ceil-mode pool of x, by those windows with
    what Caffe gives them: -FLT_MAX for a max pool, 0 for an average pool."""
    extra = []
    for i, (n, k, s, p) in enumerate(zip(x.shape[-2:], kernel, stride, padding)):
        out = -(-(n + 2 * p - k) // s) + 1
        if p > 0 and (out - 1) * s >= n + p:
            out -= 1
        extra.append(out - y.shape[2 + i])
    if extra == [0, 0]:
        return y
    fill = torch.finfo(y.dtype).min if max_pool else 0.0
    return F.pad(y, (0, extra[1], 0, extra[0]), value=fill)


## no_scale

def _without_scale(bn):
    """Batch norm without a learned scale (gamma fixed at 1): `weight` is unregistered, which
    F.batch_norm reads as 1, so the parameters are `bias` only."""
    bn.register_parameter("weight", None)
    return bn
