"""dlib's face-recognition ResNet (`dlib_face_recognition_resnet_model_v1.dat`) run by PyTorch.

dlib's wheels on PyPI are built without BLAS: its network takes about 0.12 s per face on one core here, and holds
the GIL while it runs. The same network in PyTorch, with the weights read from dlib's own model file, gives the
same descriptors (tests/unit/test_dlib_net.py compares them) several times faster and in batches.

The file is dlib's serialization of `anet_type` in dlib's `dnn_face_recognition_ex.cpp`: a ResNet-29 on
150x150 RGB chips, input scaled as (pixel - channel mean) / 256, batch norm folded into per-channel affine
layers, strided convolutions unpadded, and residual sums taken over the larger of the two shapes (dlib's
`add_prev`, zero where one tensor has no element). Layers are stored from the input up; only the weights are read
here, and the layer sequence is checked against the architecture below.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from ..errors import ModelFilesMissing

#: (channels, blocks, first block downsamples) of each stage, from the input up.
STAGES = ((32, 3, False), (64, 4, True), (128, 3, True), (256, 3, True), (256, 1, True))
CHIP = 150
EMBED_DIM = 128

_LAYER = re.compile(rb"\x01[\x04-\x16](input_rgb_image_sized|con_4|affine_|fc_2)")


@dataclass
class _Conv:
    weight: np.ndarray  # (out, in, kh, kw)
    bias: np.ndarray
    stride: int
    padding: int


@dataclass
class DlibWeights:
    """The network's parameters as read from the .dat file."""

    mean: np.ndarray  # (3,) RGB means subtracted from the input
    convs: list[_Conv]
    affines: list[tuple[np.ndarray, np.ndarray]]  # (gamma, beta) per channel
    fc: np.ndarray  # (256, 128): descriptor = pooled @ fc


class _Reader:
    """dlib's serialization: integers as a size byte (0x80 = negative) then little-endian bytes; floats as an
    integer mantissa and exponent; tensors as version 2, four dimensions and raw little-endian float32."""

    def __init__(self, data: bytes, pos: int) -> None:
        self.data, self.pos = data, pos

    def int(self) -> int:
        head = self.data[self.pos]
        size, neg = head & 0x0F, head & 0x80
        value = int.from_bytes(self.data[self.pos + 1:self.pos + 1 + size], "little")
        self.pos += 1 + size
        return -value if neg else value

    def float(self) -> float:
        mantissa = self.int()
        return float(mantissa) * 2.0 ** self.int()

    def tensor(self) -> np.ndarray:
        version = self.int()
        if version != 2:
            raise ModelFilesMissing(f"dlib model file: tensor format {version} not understood (expected 2)")
        dims = [self.int() for _ in range(4)]
        n = int(np.prod(dims))
        arr = np.frombuffer(self.data, "<f4", n, self.pos).reshape(dims).copy()
        self.pos += 4 * n
        return arr


def read_weights(path: Path) -> DlibWeights:
    """Parse dlib's face-recognition model file into arrays (raises ModelFilesMissing if it is not that file)."""
    data = Path(path).read_bytes()
    mean, convs, affines, fc = None, [], [], None
    for m in _LAYER.finditer(data):
        r, kind = _Reader(data, m.end()), m.group(1)
        if kind == b"input_rgb_image_sized":
            mean = np.array([r.float() for _ in range(3)], np.float32)
        elif kind == b"con_4":
            params = r.tensor().ravel()
            nf, nr, nc, sy, _sx, py, _px = (r.int() for _ in range(7))
            k = (params.size - nf) // (nf * nr * nc)
            convs.append(_Conv(params[:nf * k * nr * nc].reshape(nf, k, nr, nc), params[nf * k * nr * nc:], sy, py))
        elif kind == b"affine_":
            params = r.tensor().ravel()
            affines.append((params[:params.size // 2], params[params.size // 2:]))
        else:
            r.int(), r.int()  # outputs, inputs
            fc = r.tensor().reshape(-1, EMBED_DIM)
    expected = 1 + 2 * sum(blocks for _, blocks, _ in STAGES)
    if mean is None or fc is None or len(convs) != expected or len(affines) != expected:
        raise ModelFilesMissing(f"{path} is not dlib's face-recognition ResNet v1 ({len(convs)} convolutions found, "
                                f"{expected} expected): reinstall `face-recognition-models==0.3.0`")
    return DlibWeights(mean, convs, affines, fc)


def build_network(weights: DlibWeights):
    """A torch.nn.Module: (N, 150, 150, 3) uint8 RGB chips -> (N, 128) descriptors (not normalised).

    Each convolution is followed in dlib's network by a per-channel affine layer (its folded batch norm); the
    two are folded here into one convolution (weights scaled by gamma, bias b * gamma + beta): the same
    descriptors within float rounding, about 3x faster on CPU than a separate per-channel layer for the batches
    of one photo's faces. Weights are channels-last, the layout the permuted uint8 chips already have."""
    import torch
    from torch import nn
    from torch.nn import functional as F

    def conv(i: int) -> nn.Conv2d:
        c, (gamma, beta) = weights.convs[i], weights.affines[i]
        layer = nn.Conv2d(c.weight.shape[1], c.weight.shape[0], c.weight.shape[2], c.stride, c.padding)
        layer.weight.data = torch.from_numpy(c.weight * gamma.reshape(-1, 1, 1, 1))
        layer.bias.data = torch.from_numpy(c.bias * gamma + beta)
        return layer

    class Block(nn.Module):
        def __init__(self, i: int, down: bool) -> None:
            super().__init__()
            self.down = down
            self.body = nn.Sequential(conv(i), nn.ReLU(), conv(i + 1))

        def forward(self, x):
            y = self.body(x)
            skip = F.avg_pool2d(x, 2, 2) if self.down else x
            return F.relu(_add_prev(y, skip))

    class Net(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.register_buffer("mean", torch.from_numpy(weights.mean).reshape(1, 3, 1, 1))
            self.stem = nn.Sequential(conv(0), nn.ReLU(), nn.MaxPool2d(3, 2))
            blocks, i = [], 1
            for _, n, down in STAGES:
                for b in range(n):
                    blocks.append(Block(i, down and b == 0))
                    i += 2
            self.blocks = nn.Sequential(*blocks)
            self.register_buffer("fc", torch.from_numpy(weights.fc))

        def forward(self, chips):
            x = (chips.permute(0, 3, 1, 2).float() - self.mean) / 256.0
            x = self.blocks(self.stem(x))
            return x.mean(dim=(2, 3)) @ self.fc

    return Net().eval().to(memory_format=torch.channels_last)


def _add_prev(a, b):
    """dlib's add_prev: the sum over the larger of the two shapes, zero where a tensor has no element."""
    from torch.nn import functional as F

    c, h, w = (max(a.shape[i], b.shape[i]) for i in (1, 2, 3))

    def grow(t):
        return F.pad(t, (0, w - t.shape[3], 0, h - t.shape[2], 0, c - t.shape[1]))

    return grow(a) + grow(b)


class TorchDescriber:
    """Descriptors of 150x150 aligned chips with dlib's network weights, in PyTorch (batched)."""

    def __init__(self, model_file: Path) -> None:
        """:param model_file: dlib_face_recognition_resnet_model_v1.dat"""
        self.net = build_network(read_weights(model_file))

    def __call__(self, chips: Sequence[np.ndarray]) -> np.ndarray:
        """(N, 128) float32 descriptors (dlib's scale, not normalised) of N (150, 150, 3) uint8 RGB chips."""
        import torch

        if not len(chips):
            return np.zeros((0, EMBED_DIM), np.float32)
        from ..runtime import identity_autocast

        batch = torch.from_numpy(np.stack([np.asarray(c, np.uint8) for c in chips]))
        with torch.inference_mode(), identity_autocast(batch):
            return self.net(batch).float().numpy()
