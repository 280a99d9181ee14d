#!/usr/bin/env python3
"""PyTorch side of `archcheck bench`: training throughput of an emitted nn.Module.

Runs the module written by `archcheck emit --pytorch` (or by `archcheck bench` itself)
the way archcheck trains: eager mode, SGD with momentum, loss = CE(main) + aux_weight *
sum(CE(aux)), optional bf16 autocast and channels_last, cudnn.benchmark, on random data
that stays on the device. Prints one JSON object on stdout:

  {"images_per_sec": ..., "step_ms": ..., "peak_bytes": ... | null, "parameters": ...,
   "torch": "2.11.0", "device": "cuda:0", "amp": true, "channels_last": true}

Usage: bench_pytorch.py --module model.py --class Name --batch 256 --input 224 \
           [--classes 1000] [--steps 30] [--warmup 10] [--device cuda] [--amp] \
           [--channels-last] [--lr 0.01] [--momentum 0.9] [--weight-decay 5e-4]
"""

import argparse
import importlib.util
import json
import sys
import time


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--module", required=True)
    ap.add_argument("--class", dest="cls", required=True)
    ap.add_argument("--batch", type=int, required=True)
    ap.add_argument("--input", required=True, help="H or HxW")
    ap.add_argument("--channels", type=int, default=3)
    ap.add_argument("--classes", type=int, default=1000)
    ap.add_argument("--steps", type=int, default=30)
    ap.add_argument("--warmup", type=int, default=10)
    ap.add_argument("--device", default="cuda")
    ap.add_argument("--amp", action="store_true")
    ap.add_argument("--channels-last", action="store_true")
    ap.add_argument("--lr", type=float, default=0.01)
    ap.add_argument("--momentum", type=float, default=0.9)
    ap.add_argument("--weight-decay", type=float, default=5e-4)
    ap.add_argument("--aux-weight", type=float, default=0.3)
    ap.add_argument("--threads", type=int, default=0, help="CPU threads (0: PyTorch's default)")
    a = ap.parse_args()

    import torch
    import torch.nn.functional as F

    if a.threads > 0:
        torch.set_num_threads(a.threads)
    parts = a.input.lower().replace("×", "x").split("x")
    h, w = (int(parts[0]), int(parts[-1]))
    device = torch.device(a.device)
    cuda = device.type == "cuda"

    spec = importlib.util.spec_from_file_location("archcheck_bench_model", a.module)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    cls = getattr(mod, a.cls)

    torch.manual_seed(0)
    if cuda:
        torch.backends.cudnn.benchmark = True
    model = cls(num_classes=a.classes).to(device)
    model.train()
    fmt = torch.channels_last if a.channels_last else torch.contiguous_format
    model = model.to(memory_format=fmt)
    opt = torch.optim.SGD(model.parameters(), lr=a.lr, momentum=a.momentum, weight_decay=a.weight_decay)
    x = torch.randn(a.batch, a.channels, h, w, device=device).contiguous(memory_format=fmt)
    y = torch.randint(0, a.classes, (a.batch,), device=device)
    params = sum(p.numel() for p in model.parameters())

    def step():
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=a.amp):
            out = model(x)
            outs = out if isinstance(out, tuple) else (out,)
            loss = F.cross_entropy(outs[0].float(), y)
            for aux in outs[1:]:
                loss = loss + a.aux_weight * F.cross_entropy(aux.float(), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        return loss

    def sync():
        if cuda:
            torch.cuda.synchronize(device)

    if cuda:
        torch.cuda.reset_peak_memory_stats(device)
    for _ in range(a.warmup):
        step()
    sync()
    t0 = time.perf_counter()
    for _ in range(a.steps):
        loss = step()
    sync()
    dt = time.perf_counter() - t0
    if not torch.isfinite(loss).item():
        print("bench_pytorch: the loss is not finite", file=sys.stderr)
    result = {
        "images_per_sec": a.batch * a.steps / dt,
        "step_ms": 1000.0 * dt / a.steps,
        "peak_bytes": torch.cuda.max_memory_allocated(device) if cuda else None,
        "parameters": params,
        "torch": torch.__version__,
        "device": str(device),
        "amp": a.amp,
        "channels_last": a.channels_last,
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
