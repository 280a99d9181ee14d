# Checks an ONNX model archcheck wrote against the PyTorch module archcheck emitted for the
# same spec (tests/emit_onnx.rs). Steps, each printing into one JSON line at the end:
#  1. weights: the module's own random init (seeded), batch-norm statistics randomised too,
#     written as safetensors (by hand: the format is a JSON header and raw bytes) for
#     `archcheck emit onnx --weights`, which the Rust side runs between `prepare` and `check`;
#  2. onnx.checker (full check), ONNX shape inference (strict, at the reference size);
#  3. onnxruntime's output against the module's on the same input, at each size given.
import importlib.util
import json
import struct
import sys

import numpy as np
import torch


def load_module(path):
    spec = importlib.util.spec_from_file_location("emitted", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    torch.manual_seed(0)
    model = mod.build()
    with torch.no_grad():
        for name, b in model.named_buffers():
            if name.endswith("running_mean"):
                b.uniform_(-0.1, 0.1)
            elif name.endswith("running_var"):
                b.uniform_(0.5, 1.5)
        for name, p in model.named_parameters():
            if name.endswith(".bn.weight") or name.endswith("bn.weight"):
                p.uniform_(0.5, 1.5)
    return model.eval()


def save_safetensors(state, path):
    header, blobs, offset = {}, [], 0
    for name, t in state.items():
        a = t.detach().contiguous().numpy()
        dtype = {"float32": "F32", "int64": "I64"}[str(a.dtype)]
        raw = a.tobytes()
        header[name] = {"dtype": dtype, "shape": list(a.shape), "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for b in blobs:
            f.write(b)


def check(module_path, onnx_path, sizes):
    import onnx
    import onnxruntime as ort

    model = load_module(module_path)
    proto = onnx.load(onnx_path)
    onnx.checker.check_model(proto, full_check=True)
    inp = proto.graph.input[0]
    dims = [d.dim_param or d.dim_value for d in inp.type.tensor_type.shape.dim]
    # Shape inference at the first size, batch 2, with every dimension concrete.
    fixed = onnx.ModelProto()
    fixed.CopyFrom(proto)
    h, w = sizes[0]
    for d, v in zip(fixed.graph.input[0].type.tensor_type.shape.dim, [2, dims[1], h, w]):
        d.Clear()
        d.dim_value = v
    inferred = onnx.shape_inference.infer_shapes(fixed, strict_mode=True)
    shapes = {}
    for vi in list(inferred.graph.value_info) + list(inferred.graph.output):
        shapes[vi.name] = [d.dim_value if d.HasField("dim_value") else d.dim_param for d in vi.type.tensor_type.shape.dim]
    initializers = {t.name for t in proto.graph.initializer}
    state = {k for k in model.state_dict() if not k.endswith("num_batches_tracked")}
    session = ort.InferenceSession(onnx_path, providers=["CPUExecutionProvider"])
    runs = []
    gen = torch.Generator().manual_seed(1)
    # A fixed-size model runs at the reference alone.
    if not isinstance(dims[2], str):
        sizes = sizes[:1]
    for batch, (h, w) in zip([2, 1, 3], sizes):
        x = torch.randn(batch, dims[1], h, w, generator=gen)
        with torch.no_grad():
            want = model(x).numpy()
        got = session.run(None, {inp.name: x.numpy()})[0]
        runs.append({
            "size": [batch, h, w],
            "shape": list(got.shape),
            "want_shape": list(want.shape),
            "max_abs_diff": float(np.max(np.abs(got - want))) if got.shape == want.shape else None,
            "max_abs": float(np.max(np.abs(want))),
        })
    print(json.dumps({
        "input": dims,
        "opset": [o.version for o in proto.opset_import],
        "node_names": [n.name for n in proto.graph.node],
        "shapes": shapes,
        "runs": runs,
        "initializers_not_in_state_dict": sorted(n for n in initializers if n not in state and "/" not in n),
    }))


if __name__ == "__main__":
    if sys.argv[1] == "prepare":
        save_safetensors(load_module(sys.argv[2]).state_dict(), sys.argv[3])
        print("{}")
    else:
        sizes = [tuple(int(v) for v in s.split("x")) for s in sys.argv[4:]]
        check(sys.argv[2], sys.argv[3], sizes)
