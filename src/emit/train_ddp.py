"""Trains the network of the module next to this file with torchrun and
DistributedDataParallel, on one or many GPUs on one or many nodes (or CPU processes),
as `archcheck build --train` trains it with libtorch.

    torchrun --standalone --nproc_per_node 8 THIS.py --data fashion-mnist --out runs/a
    torchrun --nnodes 2 --node-rank 0 --nproc_per_node 8 --master-addr HOST --master-port 29500 \
        THIS.py --data imagefolder:DIR --out runs/a          # and --node-rank 1 on the other
    python THIS.py --data synthetic --epochs 1                # one process, no torchrun

The same as `build --train` (src/torch/train/ of archcheck):
- the options, their names and defaults: --epochs 10, --batch 128, --optimizer sgd, --lr 0.05
  (SGD) or 0.001 (Adam), --momentum 0.9, --weight-decay 5e-4 (SGD) or 0 (Adam), --schedule
  cosine, --warmup 0 epochs, --aux-weight 0.3, bf16 autocast and channels-last on CUDA;
- --batch is the global batch: each of the N processes takes batch/N images per step, so
  the steps per epoch (train images // batch), the learning rate of every step and the
  images of every step do not depend on how many processes run;
- the data sources (synthetic: the same generator and images, bit for bit; Fashion-MNIST
  IDX files, gzip or plain; an image folder), the per-channel normalisation from the
  training set, bilinear resize to the model's input, random crop (padding min(H, W) // 8
  after normalisation) and horizontal flip, grey expanded to the model's channels;
- torch.optim.SGD (momentum, no dampening, no Nesterov) and torch.optim.Adam (L2 weight
  decay), which archcheck's optimizer reimplements; the learning rate of each step is the
  same pure function of the step (linear warm-up, then cosine to 0 or x0.96 every 8 epochs);
- the loss: cross-entropy of the logits + aux_weight x that of each auxiliary head;
- the run directory: metrics.jsonl (one line per epoch, which `archcheck plot` reads),
  checkpoints/ckpt-STEP-UNIQUE/{model,optim}.safetensors and state.json, the manifest
  checkpoint.json renamed into place as the commit point (each file fsynced first), a
  checkpoint at the end of every epoch and every --checkpoint-every steps, final.safetensors;
  the tensors are named as archcheck names them (`<node>.weight`, `momentum/<node>.weight`,
  `exp_avg/...`, `exp_avg_sq/...`), so `archcheck compare SPEC final.safetensors` reads them;
- --resume continues from the committed checkpoint (options left out come from it, options
  that contradict it are refused), --max-steps stops after K steps in all (checkpointed).

What differs, and why:
- the order of the images and the crop and flip draws come from torch's generators (the
  permutation of torch.utils.data.DistributedSampler, seeded with seed + epoch; the
  augmentation of each step from a generator seeded with (seed, epoch, step)), not from
  archcheck's SplitMix64 stream, so the trajectory is not bit-equal to `build --train`'s;
  it is reproducible and resumable the same way (a resumed CPU run ends with the weights
  of an uninterrupted one);
- batch norm normalises each process's batch/N images (the usual DDP behaviour; --sync-bn
  uses SyncBatchNorm on GPUs); the running statistics are rank 0's, which DDP broadcasts
  before every forward pass, and evaluation uses them on every rank;
- image folders are decoded and resized by Pillow (bilinear), not by the Rust image crate:
  the pixels can differ by a grey level;
- the manifest's file hashes are SHA-256 (FNV-1a over a large model is too slow in Python)
  and state.json records the number of processes: the manifest's format is named
  differently, so `build --train --resume` refuses these checkpoints, and this script
  refuses archcheck's.
- metrics.svg is not drawn: `archcheck plot RUN -o RUN/metrics.svg` draws it.

Exit status of each process: 0 done, 1 a non-finite loss or weights that differ between
processes (--check-replicas), 2 unusable options or data (torchrun itself exits 1 when
any process fails).
"""

import argparse
import gzip
import hashlib
import importlib.machinery
import importlib.util
import io
import json
import math
import os
import sys
import time

import numpy as np
import torch
import torch.distributed as dist
import torch.nn.functional as F
from safetensors.torch import load_file, save_file
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import BatchSampler, DistributedSampler

# <network>
# What archcheck writes here: the module beside this file, its class, the spec it came from.
MODULE_FILE = "model.py"
MODEL_CLASS = "Net"
SPEC = {"name": "net", "variant": None, "file": "net.yaml"}
INPUT_SIZE = (32, 32)
INPUT_CHANNELS = 3
CLASSES = 10
AUX_HEADS = 0
# </network>

# archcheck's defaults (src/torch/train/config.rs, optim.rs, setup.rs).
DEFAULT_EPOCHS = 10
DEFAULT_BATCH = 128
DEFAULT_LR = {"sgd": 0.05, "adam": 1e-3}
DEFAULT_MOMENTUM = 0.9
DEFAULT_WEIGHT_DECAY = {"sgd": 5e-4, "adam": 0.0}
DEFAULT_SCHEDULE = "cosine"
DEFAULT_WARMUP = 0.0
AUX_WEIGHT = 0.3
STEP_GAMMA = 0.96
STEP_EPOCHS = 8
ADAM_BETAS = (0.9, 0.999)
ADAM_EPS = 1e-8
SYNTHETIC_TRAIN = 2048
SYNTHETIC_TEST = 512
FASHION_MNIST_DIR = "/usr/share/datasets/fashion-mnist/"
MAX_DATA_FILE_BYTES = 1 << 30
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png")

MANIFEST = "checkpoint.json"
CHECKPOINT_DIR = "checkpoints"
FORMAT = "archcheck-torchrun-checkpoint/1"

# Streams of derive_seed, as archcheck numbers them (4 is this script's own).
STREAM_DROPOUT = 2
STREAM_INIT = 3
STREAM_AUGMENT = 4
STREAM_RANK = 5

U64 = (1 << 64) - 1


class UsageError(Exception):
    """Options or data that cannot be used: exit status 2."""


class TrainingFailed(Exception):
    """A non-finite loss or replicas that disagree: exit status 1."""


# ---------------------------------------------------------------- seeds (SplitMix64)

def _mix(z):
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & U64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & U64
    return z ^ (z >> 31)


def splitmix_first(seed):
    """The first output of SplitMix64 seeded with `seed`."""
    return _mix((seed + 0x9E3779B97F4A7C15) & U64)


def derive_seed(seed, what, index):
    """archcheck's derive_seed: a seed for stream `what` of (seed, index)."""
    a = splitmix_first((seed ^ (what * 0xA0761D6478BD642F)) & U64)
    return splitmix_first((a ^ (index * 0xE7037ED1A0B428DB)) & U64)


def splitmix_outputs(seed, start, count):
    """Outputs start+1 .. start+count of SplitMix64 seeded with `seed`, as uint64 (its
    state after k outputs is seed + k * gamma, so any stretch is one vector operation)."""
    with np.errstate(over="ignore"):
        k = np.arange(start + 1, start + count + 1, dtype=np.uint64)
        z = np.uint64(seed) + k * np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return z ^ (z >> np.uint64(31))


def round_half_away(x):
    """Rust's f64::round (halves away from zero), for x >= 0; Python's round() is banker's."""
    r = np.floor(x)
    return r + (x - r >= 0.5)


# ---------------------------------------------------------------- data

class Images:
    """One split: uint8 images N x C x H x W, int64 labels, the number of classes."""

    def __init__(self, images, labels, classes):
        self.images = images
        self.labels = labels
        self.classes = classes

    @property
    def n(self):
        return self.images.shape[0]

    def fingerprint(self):
        """SHA-256 of what archcheck's FNV-1a fingerprint covers: shape, classes, pixels, labels."""
        h = hashlib.sha256()
        n, c, height, width = self.images.shape
        for x in (n, c, height, width, self.classes):
            h.update(int(x).to_bytes(8, "little"))
        h.update(np.ascontiguousarray(self.images).tobytes())
        h.update(self.labels.astype("<u2").tobytes())
        return h.hexdigest()


def synthetic(n_train, n_test, classes, channels, size, seed):
    """archcheck's synthetic data set (src/data/synthetic.rs), the same images bit for bit."""
    train_seed = splitmix_first(seed)
    test_seed = _mix((seed + 2 * 0x9E3779B97F4A7C15) & U64)
    return (_synthetic_split(n_train, classes, channels, size, train_seed),
            _synthetic_split(n_test, classes, channels, size, test_seed))


def _synthetic_split(n, classes, channels, size, seed):
    shuffle_draws = max(n - 1, 0)
    labels = [i % classes for i in range(n)]
    draws = splitmix_outputs(seed, 0, shuffle_draws)
    for j, i in enumerate(range(n - 1, 0, -1)):
        k = int(draws[j] % np.uint64(i + 1))
        labels[i], labels[k] = labels[k], labels[i]
    grid = math.ceil(math.sqrt(classes))

    def cell(i):
        return i * size // grid

    def cell_end(i):
        return max(cell(i + 1), cell(i) + 1)

    pixels = channels * size * size
    images = np.empty((n, channels, size, size), dtype=np.uint8)
    c = np.arange(channels, dtype=np.float64).reshape(channels, 1, 1)
    y = np.arange(size, dtype=np.float64).reshape(1, size, 1)
    x = np.arange(size, dtype=np.float64).reshape(1, 1, size)
    for j, k in enumerate(labels):
        row, col = k // grid, k % grid
        base = 30.0 + 80.0 * k / max(classes - 1, 1)
        angle = math.pi * k / classes
        dx, dy = math.cos(angle), math.sin(angle)
        freq = 2.0 * math.pi * (1.5 + (k % 3)) / size
        u = splitmix_outputs(seed, shuffle_draws + j * (1 + pixels), 1 + pixels)
        r = (u >> np.uint64(11)).astype(np.float64) / float(1 << 53)
        phase = r[0] * 2.0 * math.pi
        channel_phase = phase + c * math.pi / 3.0
        t = freq * (x * dx + y * dy) + channel_phase
        v = base + 20.0 * (1.0 + np.sin(t))
        block = np.zeros((1, size, size), dtype=bool)
        block[0, cell(row):cell_end(row), cell(col):cell_end(col)] = True
        v = np.where(block, v + 100.0, v)
        v = v + (r[1:].reshape(channels, size, size) - 0.5) * 40.0
        images[j] = np.clip(round_half_away(np.maximum(v, 0.0)), 0, 255).astype(np.uint8)
    return Images(images, np.array(labels, dtype=np.int64), classes)


def _read_maybe_gz(path):
    """The file's bytes, decompressed where it starts with the gzip magic; bounded."""
    try:
        with open(path, "rb") as f:
            raw = f.read(MAX_DATA_FILE_BYTES + 1)
    except OSError as e:
        raise UsageError("%s: %s" % (path, e.strerror or e))
    if len(raw) > MAX_DATA_FILE_BYTES:
        raise UsageError("%s: larger than %d bytes, the limit for a data file" % (path, MAX_DATA_FILE_BYTES))
    if not raw.startswith(b"\x1f\x8b"):
        return raw
    try:
        with gzip.GzipFile(fileobj=io.BytesIO(raw)) as g:
            data = g.read(MAX_DATA_FILE_BYTES + 1)
    except (OSError, EOFError) as e:
        raise UsageError("%s: corrupt or truncated gzip data: %s" % (path, e))
    if len(data) > MAX_DATA_FILE_BYTES:
        raise UsageError("%s: decompresses to more than %d bytes, the limit for a data file"
                         % (path, MAX_DATA_FILE_BYTES))
    return data


def _read_idx(path, magic, rank):
    data = _read_maybe_gz(path)
    header = 4 + 4 * rank
    if len(data) < header or int.from_bytes(data[:4], "big") != magic:
        raise UsageError("%s: not an IDX file of magic %#010x" % (path, magic))
    dims = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(rank)]
    need = int(np.prod(dims))
    if len(data) - header != need:
        raise UsageError("%s: header says %s (%d bytes), file has %d"
                         % (path, "x".join(map(str, dims)), need, len(data) - header))
    # A copy: torch.from_numpy wants a writable array.
    return np.frombuffer(data, dtype=np.uint8, offset=header).reshape(dims).copy()


def fashion_mnist(directory):
    """Fashion-MNIST's four IDX files in `directory`, each gzipped (.gz) or plain."""
    stems = ["train-images-idx3-ubyte", "train-labels-idx1-ubyte",
             "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"]
    found, missing = [], []
    for stem in stems:
        gz, plain = os.path.join(directory, stem + ".gz"), os.path.join(directory, stem)
        if os.path.isfile(gz):
            found.append(gz)
        elif os.path.isfile(plain):
            found.append(plain)
        else:
            missing.append(stem + ".gz")
    if missing:
        raise UsageError("%s: missing %s; install them with `apt-get install dataset-fashion-mnist` or pass "
                         "fashion-mnist:DIR" % (directory, ", ".join(missing)))
    splits = []
    for images_path, labels_path in ((found[0], found[1]), (found[2], found[3])):
        images = _read_idx(images_path, 0x803, 3)
        labels = _read_idx(labels_path, 0x801, 1)
        if images.shape[0] != labels.shape[0]:
            raise UsageError("%s: has %d images but %s has %d labels"
                             % (images_path, images.shape[0], labels_path, labels.shape[0]))
        if labels.size and labels.max() >= 10:
            raise UsageError("%s: label %d is out of range for 10 classes" % (labels_path, labels.max()))
        splits.append(Images(images[:, None, :, :], labels.astype(np.int64), 10))
    return splits[0], splits[1]


def _fnv1a(data):
    h = 0xCBF29CE484222325
    for b in data:
        h = ((h ^ b) * 0x100000001B3) & U64
    return h


def _classes(directory):
    try:
        names = sorted(e.name for e in os.scandir(directory) if not e.name.startswith(".") and e.is_dir())
    except OSError as e:
        raise UsageError("%s: %s" % (directory, e.strerror or e))
    if not names:
        raise UsageError("%s: no class subdirectories" % directory)
    return names


def _image_files(directory):
    files = sorted(e.path for e in os.scandir(directory)
                   if e.name.lower().endswith(IMAGE_EXTENSIONS) and e.is_file())
    if not files:
        raise UsageError("%s: class directory has no .jpg, .jpeg or .png files" % directory)
    return files


def _decode(files, size, classes):
    from PIL import Image

    images = np.empty((len(files), 3, size, size), dtype=np.uint8)
    labels = np.empty(len(files), dtype=np.int64)
    for i, (path, label) in enumerate(files):
        try:
            with Image.open(path) as img:
                rgb = img.convert("RGB").resize((size, size), Image.BILINEAR)
        except (OSError, ValueError) as e:
            raise UsageError("%s: cannot decode image: %s" % (path, e))
        images[i] = np.asarray(rgb, dtype=np.uint8).transpose(2, 0, 1)
        labels[i] = label
    return Images(images, labels, classes)


def image_folder(directory, size):
    """DIR/train/<class>/* and DIR/test/<class>/*, or DIR/<class>/* split 80/20 per class by
    the FNV-1a hash of the file name, as archcheck splits it; RGB at size x size."""
    train_dir, test_dir = os.path.join(directory, "train"), os.path.join(directory, "test")
    train, test = [], []
    if os.path.isdir(train_dir) and os.path.isdir(test_dir):
        classes = _classes(train_dir)
        if _classes(test_dir) != classes:
            raise UsageError("%s: train/ and test/ have different classes" % directory)
        for label, name in enumerate(classes):
            train += [(f, label) for f in _image_files(os.path.join(train_dir, name))]
            test += [(f, label) for f in _image_files(os.path.join(test_dir, name))]
    elif os.path.isdir(train_dir) or os.path.isdir(test_dir):
        raise UsageError("%s: has only one of train/ and test/; expected both or neither" % directory)
    else:
        classes = _classes(directory)
        for label, name in enumerate(classes):
            files = _image_files(os.path.join(directory, name))
            key = lambda p: os.fsencode(os.path.basename(p))
            by_hash = sorted(files, key=lambda p: (_fnv1a(key(p)), key(p)))
            held_out = (len(files) + 2) // 5
            test += [(f, label) for f in sorted(by_hash[:held_out])]
            train += [(f, label) for f in sorted(by_hash[held_out:])]
    return _decode(train, size, len(classes)), _decode(test, size, len(classes))


def load_data(source, seed):
    """The training and test splits `--data` names, at the model's input."""
    kind, _, directory = source.partition(":")
    if kind == "synthetic" and not directory and ":" not in source:
        return synthetic(SYNTHETIC_TRAIN, SYNTHETIC_TEST, CLASSES, INPUT_CHANNELS, max(INPUT_SIZE), seed)
    if kind == "fashion-mnist" and (directory or ":" not in source):
        return fashion_mnist(directory or FASHION_MNIST_DIR)
    if kind == "imagefolder" and directory:
        return image_folder(directory, max(INPUT_SIZE))
    raise UsageError("unknown data source `%s`, expected synthetic, fashion-mnist, fashion-mnist:DIR or "
                     "imagefolder:DIR" % source)


def channel_stats(split):
    """Per-channel mean and standard deviation in 0..1 units, as archcheck computes them."""
    n, c, h, w = split.images.shape
    count = max(n * h * w, 1)
    means, stds = [], []
    for ch in range(c):
        # A histogram: exact integer sums without a 64-bit copy of the pixels.
        counts = np.bincount(split.images[:, ch].ravel(), minlength=256).tolist()
        s = sum(v * k for v, k in enumerate(counts))
        q = sum(v * v * k for v, k in enumerate(counts))
        m = s / count / 255.0
        var = q / count / (255.0 * 255.0) - m * m
        means.append(m)
        stds.append(max(math.sqrt(max(var, 0.0)), 1e-3))
    return means, stds


class Pipeline:
    """Batches on the device: resize, normalise, random crop and flip, grey to channels."""

    def __init__(self, train, device, channels_last):
        mean, std = channel_stats(train)
        c = train.images.shape[1]
        if c != INPUT_CHANNELS and c != 1:
            raise UsageError("the data has %d channels but the model takes %d; only grey images are expanded"
                             % (c, INPUT_CHANNELS))
        self.scale = torch.tensor([1.0 / (255.0 * s) for s in std], dtype=torch.float32).view(1, c, 1, 1).to(device)
        self.shift = torch.tensor([m / s for m, s in zip(mean, std)], dtype=torch.float32).view(1, c, 1, 1).to(device)
        self.crop_pad = min(INPUT_SIZE) // 8
        self.channels_last = channels_last

    def _prepare(self, images):
        x = images.float()
        if tuple(x.shape[-2:]) != tuple(INPUT_SIZE):
            x = F.interpolate(x, size=tuple(INPUT_SIZE), mode="bilinear", align_corners=False)
        return x * self.scale - self.shift

    def _finish(self, x):
        if x.shape[1] != INPUT_CHANNELS:
            x = x.expand(-1, INPUT_CHANNELS, -1, -1)
        if self.channels_last:
            return x.contiguous(memory_format=torch.channels_last)
        return x.contiguous()

    def augmentation(self, seed, epoch, step_in_epoch, global_batch):
        """Crop offsets and flips of one step's global batch, from a generator seeded with
        (seed, epoch, step): the same whatever the number of processes."""
        g = torch.Generator().manual_seed(derive_seed(derive_seed(seed, STREAM_AUGMENT, epoch), 0, step_in_epoch))
        span = 2 * self.crop_pad + 1
        dy = torch.randint(0, span, (global_batch,), generator=g)
        dx = torch.randint(0, span, (global_batch,), generator=g)
        flip = torch.randint(0, 2, (global_batch,), generator=g).bool()
        return dy, dx, flip

    def train_batch(self, images, idx, dy, dx, flip):
        x = self._prepare(images.index_select(0, idx))
        n, c, h, w = x.shape
        p = self.crop_pad
        dev = x.device
        if p > 0:
            padded = F.pad(x, (p, p, p, p))
            rows = (dy.to(dev).view(n, 1) + torch.arange(h, device=dev)).view(n, 1, h, 1).expand(n, c, h, w + 2 * p)
            x = padded.gather(2, rows)
            cols = (dx.to(dev).view(n, 1) + torch.arange(w, device=dev)).view(n, 1, 1, w).expand(n, c, h, w)
            x = x.gather(3, cols)
        x = torch.where(flip.to(dev).view(n, 1, 1, 1), x.flip(3), x)
        return self._finish(x)

    def eval_batch(self, images):
        return self._finish(self._prepare(images))


class StepSampler(DistributedSampler):
    """A DistributedSampler whose epoch is cut into global batches: step s of an epoch takes
    positions s*batch .. (s+1)*batch of the epoch's permutation (DistributedSampler's own,
    seeded with seed + epoch), and this process the rank-th slice of batch/N of them. So
    every step sees the same images whatever the number of processes, and a resumed
    epoch starts at its step (`start`)."""

    def __init__(self, n, world, rank, seed, global_batch):
        super().__init__(range(n), num_replicas=world, rank=rank, shuffle=True, seed=seed, drop_last=True)
        self.global_batch = global_batch
        self.per_rank = global_batch // world
        self.steps = n // global_batch
        self.start = 0

    def __iter__(self):
        g = torch.Generator()
        g.manual_seed(self.seed + self.epoch)
        order = torch.randperm(len(self.dataset), generator=g).tolist()
        for s in range(self.start, self.steps):
            first = s * self.global_batch + self.rank * self.per_rank
            yield from order[first:first + self.per_rank]

    def __len__(self):
        return (self.steps - self.start) * self.per_rank


# ---------------------------------------------------------------- model and optimizer

def network_builder():
    """The `build` function of the module beside this file (it returns MODEL_CLASS)."""
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), MODULE_FILE)
    if not os.path.isfile(path):
        raise UsageError("%s: the module this script trains is missing (write it with archcheck emit)" % path)
    # An explicit source loader: the file name need not end in .py.
    loader = importlib.machinery.SourceFileLoader("archcheck_network", path)
    module = importlib.util.module_from_spec(importlib.util.spec_from_loader(loader.name, loader))
    loader.exec_module(module)
    return module.build


def learning_rate(cfg, step, steps_per_epoch):
    """The rate of step `step` (0-based, over the whole run): archcheck's Schedule::lr."""
    warmup = int(round_half_away(cfg["warmup_epochs"] * steps_per_epoch))
    base = cfg["lr"]
    if step < warmup:
        return base * (step + 1) / warmup
    if cfg["schedule"] == "step":
        epoch = step // max(steps_per_epoch, 1)
        return base * STEP_GAMMA ** (epoch // STEP_EPOCHS)
    total = steps_per_epoch * cfg["epochs"]
    span = max(total - warmup, 1)
    t = min(step - warmup, span) / span
    return base * 0.5 * (1.0 + math.cos(math.pi * t))


def make_optimizer(cfg, params):
    if cfg["optimizer"] == "adam":
        return torch.optim.Adam(params, lr=cfg["lr"], betas=ADAM_BETAS, eps=ADAM_EPS,
                                weight_decay=cfg["weight_decay"])
    return torch.optim.SGD(params, lr=cfg["lr"], momentum=cfg["momentum"], dampening=0.0,
                           weight_decay=cfg["weight_decay"], nesterov=False)


def optimizer_tensors(cfg, opt, named):
    """The optimizer's buffers as archcheck names them: momentum/<var> (SGD), exp_avg/<var>
    and exp_avg_sq/<var> (Adam); zeros before the first step."""
    keys = ["exp_avg", "exp_avg_sq"] if cfg["optimizer"] == "adam" else ["momentum_buffer"]
    out = {}
    for name, p in named:
        state = opt.state.get(p, {})
        for key in keys:
            t = state.get(key)
            t = torch.zeros_like(p) if t is None else t
            out["%s/%s" % ("momentum" if key == "momentum_buffer" else key, name)] = \
                t.detach().to("cpu", copy=True).contiguous()
    return out


def load_optimizer_state(cfg, opt, named, tensors, steps, where):
    if steps == 0:
        return
    for name, p in named:
        def saved(key):
            t = tensors.get("%s/%s" % (key, name))
            if t is None:
                raise UsageError("%s: optimizer state lacks %s/%s" % (where, key, name))
            if tuple(t.shape) != tuple(p.shape):
                raise UsageError("%s: optimizer state %s/%s is %s, the variable is %s"
                                 % (where, key, name, list(t.shape), list(p.shape)))
            return torch.empty_like(p).copy_(t)
        if cfg["optimizer"] == "adam":
            opt.state[p] = {"step": torch.tensor(float(steps), dtype=torch.float32),
                            "exp_avg": saved("exp_avg"), "exp_avg_sq": saved("exp_avg_sq")}
        elif cfg["momentum"] != 0.0:
            opt.state[p] = {"momentum_buffer": saved("momentum")}


# ---------------------------------------------------------------- checkpoints

def _fsync(path):
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_atomic(path, data):
    """A temporary file in the same directory, fsync, rename, fsync of the directory."""
    directory = os.path.dirname(path) or "."
    tmp = os.path.join(directory, ".%s.tmp-%d" % (os.path.basename(path), os.getpid()))
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    _fsync(directory)


def save_tensors_atomic(path, tensors):
    directory = os.path.dirname(path) or "."
    tmp = os.path.join(directory, ".tmp-%d-%s" % (os.getpid(), os.path.basename(path)))
    save_file(tensors, tmp)
    _fsync(tmp)
    os.replace(tmp, path)
    _fsync(directory)


def _entry(path):
    with open(path, "rb") as f:
        data = f.read()
    return {"bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()}


def save_checkpoint(out, step, epoch, model_tensors, optim_tensors, state):
    """Writes a checkpoint and commits it by renaming the manifest into place."""
    root = os.path.join(out, CHECKPOINT_DIR)
    os.makedirs(root, exist_ok=True)
    rel = "%s/ckpt-%09d-%d-%x" % (CHECKPOINT_DIR, step, os.getpid(), time.time_ns())
    directory = os.path.join(out, rel)
    os.mkdir(directory)
    files = {}
    for name, tensors in (("model.safetensors", model_tensors), ("optim.safetensors", optim_tensors)):
        path = os.path.join(directory, name)
        save_file(tensors, path)
        _fsync(path)
        files[name] = _entry(path)
    path = os.path.join(directory, "state.json")
    with open(path, "wb") as f:
        f.write(json.dumps(state, indent=2).encode())
        f.flush()
        os.fsync(f.fileno())
    files["state.json"] = _entry(path)
    _fsync(directory)
    _fsync(root)
    manifest = {"format": FORMAT, "dir": rel, "step": step, "epoch": epoch, "files": files}
    write_atomic(os.path.join(out, MANIFEST), json.dumps(manifest, indent=2).encode())  # the commit point
    for e in os.scandir(root):
        if e.path != directory:
            _remove_tree(e.path)
    return directory


def _remove_tree(path):
    import shutil

    shutil.rmtree(path, ignore_errors=True)


def load_checkpoint(out):
    """The committed checkpoint of `out`, each file checked against the manifest."""
    mpath = os.path.join(out, MANIFEST)
    try:
        with open(mpath, "rb") as f:
            manifest = json.loads(f.read(16 << 20))
    except (OSError, ValueError) as e:
        raise UsageError("%s: unreadable checkpoint manifest: %s" % (mpath, e))
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise UsageError("%s: unknown checkpoint format %r, expected %r"
                         % (mpath, manifest.get("format") if isinstance(manifest, dict) else None, FORMAT))
    rel = manifest.get("dir", "")
    if not isinstance(rel, str) or ".." in rel or os.path.isabs(rel):
        raise UsageError("%s: corrupt checkpoint manifest: bad directory %r" % (mpath, rel))
    directory = os.path.join(out, rel)
    for name in ("model.safetensors", "optim.safetensors", "state.json"):
        want = manifest.get("files", {}).get(name)
        path = os.path.join(directory, name)
        if want is None:
            raise UsageError("%s: corrupt checkpoint manifest: no entry for %s" % (mpath, name))
        try:
            found = _entry(path)
        except OSError as e:
            raise UsageError("%s: checkpoint file unreadable: %s" % (path, e.strerror or e))
        if found != want:
            raise UsageError("%s: corrupt checkpoint: %d bytes, sha256 %s; the manifest says %d bytes, sha256 %s"
                             % (path, found["bytes"], found["sha256"], want.get("bytes"), want.get("sha256")))
    with open(os.path.join(directory, "state.json"), "rb") as f:
        state = json.loads(f.read())
    return (directory, state, load_file(os.path.join(directory, "model.safetensors")),
            load_file(os.path.join(directory, "optim.safetensors")))


def remove_interrupted_writes(out):
    for e in os.scandir(out):
        if e.name.startswith(".tmp-") or (e.name.startswith(".") and ".tmp-" in e.name):
            os.remove(e.path)


# ---------------------------------------------------------------- options

def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", help="synthetic, fashion-mnist, fashion-mnist:DIR or imagefolder:DIR "
                   "[default: fashion-mnist]")
    p.add_argument("--epochs", type=int, help="epochs [default: %d]" % DEFAULT_EPOCHS)
    p.add_argument("--batch", type=int, help="global batch, split evenly over the processes [default: %d]"
                   % DEFAULT_BATCH)
    p.add_argument("--optimizer", choices=["sgd", "adam"], help="[default: sgd]")
    p.add_argument("--lr", type=float, help="learning rate [default: 0.05 (sgd) or 0.001 (adam)]")
    p.add_argument("--momentum", type=float, help="SGD momentum [default: %g]" % DEFAULT_MOMENTUM)
    p.add_argument("--weight-decay", type=float, help="L2 weight decay [default: 5e-4 (sgd) or 0 (adam)]")
    p.add_argument("--schedule", choices=["step", "cosine"],
                   help="step (x0.96 every 8 epochs) or cosine [default: cosine]")
    p.add_argument("--warmup", type=float, help="linear warm-up, in epochs [default: 0]")
    p.add_argument("--aux-weight", type=float, help="weight of each auxiliary head's loss [default: 0.3]")
    p.add_argument("--amp", action=argparse.BooleanOptionalAction,
                   help="bf16 autocast [default: on for CUDA, off for the CPU]")
    p.add_argument("--channels-last", action=argparse.BooleanOptionalAction,
                   help="channels-last layout [default: on for CUDA, off for the CPU]")
    p.add_argument("--sync-bn", action="store_true", help="SyncBatchNorm across the processes (GPUs)")
    p.add_argument("--seed", type=int, help="seed of weights, data order, augmentation and dropout "
                   "[default: from the clock]")
    p.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"],
                   help="cuda: this process's GPU (LOCAL_RANK) [default: auto]")
    p.add_argument("--backend", choices=["nccl", "gloo"], help="[default: nccl on CUDA, gloo on the CPU]")
    p.add_argument("--out", help="run directory [default: runs/SPEC-VARIANT]")
    p.add_argument("--resume", action="store_true", help="continue the run in --out from its last checkpoint")
    p.add_argument("--max-steps", type=int, metavar="K", help="stop after K optimizer steps in total")
    p.add_argument("--checkpoint-every", type=int, metavar="N",
                   help="also checkpoint every N steps (always at the end of each epoch)")
    p.add_argument("--check-replicas", action="store_true",
                   help="after every step, gather a SHA-256 of every process's parameters and print them "
                   "(a line `replicas {json}`); stop with status 1 where they differ")
    args = p.parse_args(argv)
    for flag, value, least in (("--epochs", args.epochs, 1), ("--batch", args.batch, 1),
                               ("--max-steps", args.max_steps, 0), ("--checkpoint-every", args.checkpoint_every, 1)):
        if value is not None and value < least:
            p.error("%s %d: expected at least %d" % (flag, value, least))
    for flag, value in (("--lr", args.lr), ("--momentum", args.momentum), ("--weight-decay", args.weight_decay),
                        ("--warmup", args.warmup), ("--aux-weight", args.aux_weight)):
        if value is not None and not (math.isfinite(value) and value >= 0.0):
            p.error("%s %r: expected a finite value of at least 0" % (flag, value))
    if args.seed is not None and not 0 <= args.seed <= U64:
        p.error("--seed %d: expected 0 to %d" % (args.seed, U64))
    return args


def default_out():
    name = SPEC["name"] + ("-" + SPEC["variant"] if SPEC["variant"] else "")
    return os.path.join("runs", "".join(c if c.isascii() and (c.isalnum() or c in "-_.") else "_" for c in name))


def resolve_config(args, prev, device_type, seed):
    """The run's configuration: the options given, else the checkpoint's, else the defaults;
    refuses options that contradict the checkpoint."""
    prev_cfg = prev["config"] if prev else {}
    same_device = prev_cfg if prev_cfg.get("device") == device_type else {}

    def pick(given, key, default):
        return given if given is not None else prev_cfg.get(key, default)

    optimizer = pick(args.optimizer, "optimizer", "sgd")
    cfg = {
        "data": pick(args.data, "data", "fashion-mnist"),
        "epochs": pick(args.epochs, "epochs", DEFAULT_EPOCHS),
        "batch": pick(args.batch, "batch", DEFAULT_BATCH),
        "optimizer": optimizer,
        "lr": pick(args.lr, "lr", DEFAULT_LR[optimizer]),
        "momentum": pick(args.momentum, "momentum", DEFAULT_MOMENTUM),
        "weight_decay": pick(args.weight_decay, "weight_decay", DEFAULT_WEIGHT_DECAY[optimizer]),
        "schedule": pick(args.schedule, "schedule", DEFAULT_SCHEDULE),
        "warmup_epochs": pick(args.warmup, "warmup_epochs", DEFAULT_WARMUP),
        "aux_weight": pick(args.aux_weight, "aux_weight", AUX_WEIGHT),
        "amp": args.amp if args.amp is not None else same_device.get("amp", device_type == "cuda"),
        "channels_last": (args.channels_last if args.channels_last is not None
                          else same_device.get("channels_last", device_type == "cuda")),
        "sync_bn": args.sync_bn or prev_cfg.get("sync_bn", False),
        "seed": pick(args.seed, "seed", seed),
        "device": device_type,
    }
    if prev:
        flags = [("--data", args.data, "data"), ("--batch", args.batch, "batch"),
                 ("--optimizer", args.optimizer, "optimizer"), ("--lr", args.lr, "lr"),
                 ("--momentum", args.momentum, "momentum"), ("--weight-decay", args.weight_decay, "weight_decay"),
                 ("--schedule", args.schedule, "schedule"), ("--warmup", args.warmup, "warmup_epochs"),
                 ("--aux-weight", args.aux_weight, "aux_weight"), ("--seed", args.seed, "seed")]
        if cfg["schedule"] != "step":
            flags.append(("--epochs", args.epochs, "epochs"))
        diffs = ["%s %s (the checkpoint has %s)" % (flag, given, prev_cfg.get(key))
                 for flag, given, key in flags if given is not None and given != prev_cfg.get(key)]
        if diffs:
            raise UsageError("cannot resume: %s differ from the run being resumed; drop them to continue it, or "
                             "train into a new --out" % ", ".join(diffs))
    return cfg


# ---------------------------------------------------------------- the run

class Run:
    """One process of the run: its rank, device and process group."""

    def __init__(self, args):
        self.torchrun = "RANK" in os.environ and "WORLD_SIZE" in os.environ
        self.rank = int(os.environ.get("RANK", 0))
        self.world = int(os.environ.get("WORLD_SIZE", 1))
        self.local_rank = int(os.environ.get("LOCAL_RANK", 0))
        cuda = args.device == "cuda" or (args.device == "auto" and torch.cuda.is_available())
        if cuda and not torch.cuda.is_available():
            raise UsageError("--device cuda: no CUDA device is available")
        self.device = torch.device("cuda", self.local_rank) if cuda else torch.device("cpu")
        if cuda:
            torch.cuda.set_device(self.device)
        backend = args.backend or ("nccl" if cuda else "gloo")
        if self.torchrun:
            dist.init_process_group(backend)
        else:
            dist.init_process_group(backend, store=dist.HashStore(), rank=0, world_size=1)

    def log(self, text):
        if self.rank == 0:
            print(text, flush=True)

    def same_everywhere(self, value):
        """Rank 0's value, on every rank."""
        box = [value]
        dist.broadcast_object_list(box, src=0)
        return box[0]

    def sum(self, values):
        """Element-wise sum over the processes of a list of floats (float64)."""
        t = torch.tensor(values, dtype=torch.float64, device=self.device)
        dist.all_reduce(t)
        return t.tolist()


def split_outputs(out):
    if isinstance(out, tuple):
        return out[0], out[1:]
    return out, ()


def parameters_digest(model):
    h = hashlib.sha256()
    for name, p in model.named_parameters():
        h.update(name.encode())
        h.update(p.detach().to("cpu").contiguous().numpy().tobytes())
    return h.hexdigest()


def evaluate(run, model, pipe, test, batch, amp):
    """Mean cross-entropy and accuracy on the whole test set: each process a 1/N share
    (images rank, rank+N, ...), with rank 0's batch-norm statistics; sums all-reduced."""
    for b in model.buffers():
        dist.broadcast(b, 0)
    model.eval()
    loss, correct = 0.0, 0
    idx = torch.arange(run.rank, test.n, run.world)
    images = torch.from_numpy(test.images)
    labels = torch.from_numpy(test.labels)
    with torch.no_grad():
        for start in range(0, len(idx), batch):
            part = idx[start:start + batch]
            x = pipe.eval_batch(images.index_select(0, part).to(run.device))
            y = labels.index_select(0, part).to(run.device)
            with autocast(run, amp):
                logits, _ = split_outputs(model(x))
            logits = logits.float()
            loss += F.cross_entropy(logits, y, reduction="sum").item()
            correct += int((logits.argmax(1) == y).sum())
    model.train()
    loss, correct = run.sum([loss, correct])
    return loss / test.n, correct / test.n


def autocast(run, amp):
    return torch.autocast(run.device.type, dtype=torch.bfloat16, enabled=amp)


class Trainer:
    def __init__(self, run, args):
        self.run = run
        self.args = args
        self.out = args.out or default_out()
        resumed = self._open_checkpoint()
        self.prev = resumed[1] if resumed else None
        seed = run.same_everywhere(derive_seed(time.time_ns() & U64, os.getpid(), 0) % 1_000_000_007)
        self.cfg = resolve_config(args, self.prev, run.device.type, seed)
        cfg = self.cfg
        self.train_set, self.test_set = load_data(cfg["data"], cfg["seed"])
        if self.train_set.n == 0 or self.test_set.n == 0:
            raise UsageError("data source `%s` has no images in one of its splits" % cfg["data"])
        self.classes = self.train_set.classes
        if self.classes != CLASSES:
            run.log("note: the data has %d classes: the model is built with %d instead of the spec's %d"
                    % (self.classes, self.classes, CLASSES))
        if cfg["sync_bn"] and run.device.type != "cuda":
            raise UsageError("--sync-bn needs CUDA devices (SyncBatchNorm does not run on the CPU)")
        self.identity = dict(SPEC, classes=self.classes, input=list(INPUT_SIZE), channels=INPUT_CHANNELS,
                             aux_heads=AUX_HEADS)
        self.data_id = {"source": cfg["data"], "train_images": self.train_set.n, "test_images": self.test_set.n,
                        "classes": self.classes, "train_sha256": self.train_set.fingerprint(),
                        "test_sha256": self.test_set.fingerprint()}
        batch = min(cfg["batch"], self.train_set.n)
        if batch < cfg["batch"]:
            run.log("note: the training set has only %d images: batch %d instead of %d"
                    % (self.train_set.n, batch, cfg["batch"]))
        if batch % run.world:
            raise UsageError("--batch %d is not a multiple of the %d processes: each takes an equal share"
                             % (batch, run.world))
        self.batch = batch
        self.steps_per_epoch = self.train_set.n // batch
        if self.prev:
            self._check_resumable()
        os.makedirs(self.out, exist_ok=True)
        self._build()
        if resumed:
            self._restore(*resumed)
        else:
            self.step, self.epoch, self.step_in_epoch = 0, 0, 0
            self.accum = {"loss_sum": 0.0, "correct": 0, "seen": 0, "steps": 0, "train_time_s": 0.0}
            self.metrics = []
            self.elapsed_before = 0.0
            if run.rank == 0 and os.path.exists(os.path.join(self.out, "metrics.jsonl")):
                os.remove(os.path.join(self.out, "metrics.jsonl"))
        self.last_checkpoint = resumed[0] if resumed else None
        self.started = time.time()

    def _open_checkpoint(self):
        exists = os.path.isfile(os.path.join(self.out, MANIFEST))
        if self.args.resume and not exists:
            raise UsageError("%s: no checkpoint to resume (no %s)" % (self.out, MANIFEST))
        if not self.args.resume and exists:
            raise UsageError("%s holds a run; pass --resume to continue it, or another --out" % self.out)
        return load_checkpoint(self.out) if exists else None

    def _check_resumable(self):
        prev = self.prev
        if prev.get("spec") != self.identity:
            raise UsageError("cannot resume: the checkpoint is of another network (%s), this script trains %s"
                             % (json.dumps(prev.get("spec")), json.dumps(self.identity)))
        if (prev["data"]["train_sha256"], prev["data"]["test_sha256"]) != \
                (self.data_id["train_sha256"], self.data_id["test_sha256"]):
            raise UsageError("cannot resume: the data differ from the checkpoint's (%s)" % prev["data"]["source"])
        if prev["steps_per_epoch"] != self.steps_per_epoch:
            raise UsageError("cannot resume: %d steps per epoch now, %d in the checkpoint"
                             % (self.steps_per_epoch, prev["steps_per_epoch"]))
        if prev["config"]["device"] != self.cfg["device"] or prev.get("world_size") != self.run.world:
            self.run.log("note: resuming on %d %s process(es) a run that trained on %s %s: the numbers will not "
                         "match an uninterrupted run bit for bit" % (self.run.world, self.cfg["device"],
                                                                    prev.get("world_size"), prev["config"]["device"]))

    def _build(self):
        run, cfg = self.run, self.cfg
        torch.manual_seed(derive_seed(cfg["seed"], STREAM_INIT, 0))
        model = network_builder()(num_classes=self.classes, aux_logits=AUX_HEADS > 0)
        if cfg["sync_bn"]:
            model = torch.nn.SyncBatchNorm.convert_sync_batchnorm(model)
        model.to(run.device)
        if cfg["channels_last"]:
            model.to(memory_format=torch.channels_last)
        self.model = model
        self.ddp = DistributedDataParallel(model, device_ids=[run.device.index] if run.device.type == "cuda" else None)
        self.named = list(model.named_parameters())
        self.opt = make_optimizer(cfg, [p for _, p in self.named])
        self.pipe = Pipeline(self.train_set, run.device, cfg["channels_last"])
        self.train_images = torch.from_numpy(self.train_set.images).to(run.device)
        self.train_labels = torch.from_numpy(self.train_set.labels).to(run.device)
        self.sampler = StepSampler(self.train_set.n, run.world, run.rank, cfg["seed"], self.batch)

    def _restore(self, directory, state, model_tensors, optim_tensors):
        missing, unexpected = self.model.load_state_dict(model_tensors, strict=False)
        if missing or unexpected:
            raise UsageError("%s: the checkpoint's weights do not fit the model: missing %s, unexpected %s"
                             % (directory, missing[:5], unexpected[:5]))
        load_optimizer_state(self.cfg, self.opt, self.named, optim_tensors, state["optimizer_steps"], directory)
        self.step, self.epoch, self.step_in_epoch = state["step"], state["epoch"], state["step_in_epoch"]
        self.accum = dict(state["accum"])
        self.metrics = list(state["metrics"])
        self.elapsed_before = state["elapsed_s"]
        if self.run.rank == 0:
            remove_interrupted_writes(self.out)
            text = "".join(json.dumps(m) + "\n" for m in self.metrics)
            write_atomic(os.path.join(self.out, "metrics.jsonl"), text.encode())
        self.run.log("resumed from %s: epoch %d, step %d" % (directory, self.epoch + 1, self.step))

    def elapsed(self):
        return self.elapsed_before + time.time() - self.started

    def limit_reached(self):
        return self.args.max_steps is not None and self.step >= self.args.max_steps

    def _sync_accum(self, sums, started):
        """Adds this session's device sums of the epoch (all processes) to the accumulators."""
        loss, total, correct = self.run.sum([float(sums[0]), float(sums[1]), float(sums[2])])
        steps = sums[3]
        self.accum = {"loss_sum": self.base["loss_sum"] + loss / self.run.world,
                      "correct": self.base["correct"] + int(correct),
                      "seen": self.base["seen"] + steps * self.batch,
                      "steps": self.base["steps"] + steps,
                      "train_time_s": self.base["train_time_s"] + time.time() - started}
        if not (math.isfinite(loss) and math.isfinite(total)):
            raise TrainingFailed("the loss is %s at epoch %d, step %d; the last good checkpoint is %s"
                                 % (loss if not math.isfinite(loss) else total, self.epoch + 1, self.step,
                                    self.last_checkpoint or "none"))

    def _save(self):
        if self.run.rank == 0:
            state = {"spec": self.identity, "config": self.cfg, "data": self.data_id, "world_size": self.run.world,
                     "step": self.step, "epoch": self.epoch, "step_in_epoch": self.step_in_epoch,
                     "steps_per_epoch": self.steps_per_epoch, "accum": self.accum,
                     "optimizer_steps": self.step, "elapsed_s": self.elapsed(), "metrics": self.metrics}
            model_tensors = {k: v.detach().to("cpu", copy=True).contiguous()
                             for k, v in self.model.state_dict().items()}
            directory = save_checkpoint(self.out, self.step, self.epoch, model_tensors,
                                        optimizer_tensors(self.cfg, self.opt, self.named), state)
            print("checkpoint at step %d: %s" % (self.step, directory), flush=True)
        else:
            directory = None
        dist.barrier()
        self.last_checkpoint = self.run.same_everywhere(directory)

    def _step(self, idx, dy, dx, flip, lr):
        cfg = self.cfg
        for group in self.opt.param_groups:
            group["lr"] = lr
        x = self.pipe.train_batch(self.train_images, idx, dy, dx, flip)
        y = self.train_labels.index_select(0, idx)
        with autocast(self.run, cfg["amp"]):
            logits, aux = split_outputs(self.ddp(x))
        loss = F.cross_entropy(logits.float(), y)
        total = loss
        for a in aux:
            total = total + F.cross_entropy(a.float(), y) * cfg["aux_weight"]
        self.opt.zero_grad(set_to_none=True)
        total.backward()
        self.opt.step()
        return loss.detach(), total.detach(), (logits.detach().argmax(1) == y).sum()

    def _check_replicas(self):
        digests = [None] * self.run.world
        dist.all_gather_object(digests, parameters_digest(self.model))
        self.run.log("replicas " + json.dumps({"step": self.step, "sha256": digests}))
        if len(set(digests)) != 1:
            raise TrainingFailed("after step %d the processes hold different parameters" % self.step)

    def train_epoch(self):
        """Trains the epoch in progress to its end or to --max-steps."""
        run, cfg = self.run, self.cfg
        self.sampler.set_epoch(self.epoch)
        self.sampler.start = self.step_in_epoch
        self.base = dict(self.accum)
        dev = run.device
        sums = [torch.zeros((), dtype=torch.float64, device=dev), torch.zeros((), dtype=torch.float64, device=dev),
                torch.zeros((), dtype=torch.int64, device=dev), 0]
        started = time.time()
        per_rank = self.batch // run.world
        lo, hi = run.rank * per_rank, (run.rank + 1) * per_rank
        for idx in BatchSampler(self.sampler, per_rank, drop_last=True):
            if self.limit_reached():
                self.stopped_early = True
                break
            lr = learning_rate(cfg, self.step, self.steps_per_epoch)
            torch.manual_seed(derive_seed(derive_seed(cfg["seed"], STREAM_DROPOUT, self.step), STREAM_RANK, run.rank))
            dy, dx, flip = self.pipe.augmentation(cfg["seed"], self.epoch, self.step_in_epoch, self.batch)
            idx = torch.tensor(idx, dtype=torch.int64, device=dev)
            loss, total, correct = self._step(idx, dy[lo:hi], dx[lo:hi], flip[lo:hi], lr)
            sums[0] += loss.double()
            sums[1] += total.double()
            sums[2] += correct
            sums[3] += 1
            self.step += 1
            self.step_in_epoch += 1
            if self.args.check_replicas:
                self._check_replicas()
            every = self.args.checkpoint_every
            if every and self.step % every == 0 and self.step_in_epoch < self.steps_per_epoch:
                self._sync_accum(sums, started)
                self._save()
        self._sync_accum(sums, started)
        self.end_epoch()

    def end_epoch(self):
        run = self.run
        test_loss, test_acc = evaluate(run, self.model, self.pipe, self.test_set, self.batch // run.world,
                                       self.cfg["amp"])
        a = self.accum
        m = {"epoch": self.epoch + 1, "step": self.step, "train_loss": a["loss_sum"] / max(a["steps"], 1),
             "train_acc": a["correct"] / max(a["seen"], 1), "test_loss": test_loss, "test_acc": test_acc,
             "lr": learning_rate(self.cfg, max(self.step - 1, 0), self.steps_per_epoch),
             "images_per_sec": a["seen"] / max(a["train_time_s"], 1e-9), "elapsed_s": self.elapsed()}
        partial = self.step_in_epoch < self.steps_per_epoch
        if not partial:
            self.metrics.append(m)
            self.epoch += 1
            self.step_in_epoch = 0
            self.accum = {"loss_sum": 0.0, "correct": 0, "seen": 0, "steps": 0, "train_time_s": 0.0}
        self._save()
        if run.rank == 0:
            with open(os.path.join(self.out, "metrics.jsonl"), "a") as f:
                f.write(json.dumps(m) + "\n")
                f.flush()
                os.fsync(f.fileno())
        run.log("epoch %d%s: train loss %.4f, accuracy %.2f%%; test loss %.4f, accuracy %.2f%%; lr %.3g; %.0f images/s"
                % (m["epoch"], " (partial)" if partial else "", m["train_loss"], 100 * m["train_acc"],
                   m["test_loss"], 100 * m["test_acc"], m["lr"], m["images_per_sec"]))
        if partial:
            self.stopped_early = True

    def train(self):
        run, cfg = self.run, self.cfg
        run.log("training %s on %s: %d training and %d test images, %d classes; %d process(es) on %s; global batch "
                "%d (%d per process), %d steps per epoch, %d epochs; %s, lr %g; out %s"
                % (MODEL_CLASS, cfg["data"], self.train_set.n, self.test_set.n, self.classes, run.world,
                   cfg["device"], self.batch, self.batch // run.world, self.steps_per_epoch, cfg["epochs"],
                   cfg["optimizer"], cfg["lr"], self.out))
        self.stopped_early = False
        while self.epoch < cfg["epochs"] and not self.stopped_early:
            if self.limit_reached():
                self.stopped_early = True
                break
            self.train_epoch()
        if run.rank == 0:
            final = os.path.join(self.out, "final.safetensors")
            save_tensors_atomic(final, {k: v.detach().to("cpu", copy=True).contiguous()
                                        for k, v in self.model.state_dict().items()})
            print("%s after step %d: %s" % ("stopped" if self.stopped_early else "done", self.step, final), flush=True)
        dist.barrier()


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    run = None
    try:
        run = Run(args)
        Trainer(run, args).train()
        return 0
    except UsageError as e:
        print("error: %s" % e, file=sys.stderr, flush=True)
        return 2
    except TrainingFailed as e:
        print("error: %s" % e, file=sys.stderr, flush=True)
        return 1
    finally:
        if run is not None and dist.is_initialized():
            dist.destroy_process_group()


if __name__ == "__main__":
    sys.exit(main())
