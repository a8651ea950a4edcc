"""CNN features of face crops: preprocessing, the frozen part's activations, and a CNN as an embedder."""
from __future__ import annotations

from pathlib import Path
from typing import Protocol, Sequence

import numpy as np
import torch
from PIL import Image

from ..runtime import autocast


class InputSpec(Protocol):
    """What preprocessing needs of a backbone's spec (faces.backbones.BackboneSpec has it)."""

    input_size: int
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    feature_dim: int


def to_tensor(images: Sequence[Image.Image], spec: InputSpec) -> torch.Tensor:
    """Resize RGB face crops to the backbone's input size and normalise them: (N, 3, S, S) float32."""
    s = spec.input_size
    arr = np.stack([np.asarray(im.convert("RGB").resize((s, s), Image.BILINEAR) if im.size != (s, s)
                               else im.convert("RGB")) for im in images])
    x = torch.from_numpy(arr).permute(0, 3, 1, 2).float().div_(255.0)
    mean = torch.tensor(spec.mean).view(1, 3, 1, 1)
    std = torch.tensor(spec.std).view(1, 3, 1, 1)
    return (x - mean) / std


@torch.inference_mode()
def frozen_activations(backbone: torch.nn.Module, spec: InputSpec, files: Sequence[Path], batch_size: int = 32,
                       device: str = "cpu", precision: str = "fp32", progress: bool = True) -> torch.Tensor:
    """Run the frozen stages over image files; returns float16 activations (N, C, H, W) on the CPU."""
    from ..runtime import progress_bar

    backbone.eval().to(device)
    out = []
    bar = progress_bar(total=len(files), unit="img", desc="frozen features", disable=not progress, dynamic_ncols=True)
    for i in range(0, len(files), batch_size):
        chunk = files[i:i + batch_size]
        x = to_tensor([Image.open(f) for f in chunk], spec).to(device).contiguous(memory_format=torch.channels_last)
        with autocast(device, precision):
            a = backbone.frozen(x)
        out.append(a.float().to("cpu", torch.float16).contiguous())
        bar.update(len(chunk))
    bar.close()
    return torch.cat(out)


class CNNEmbedder:
    """A trained CNN backbone as an embedder: face crops -> pooled features (N, D)."""

    def __init__(self, backbone: torch.nn.Module, spec: InputSpec, device: str = "cpu") -> None:
        self.backbone = backbone.eval().to(device)
        self.spec, self.device = spec, device

    @torch.inference_mode()
    def embed(self, crops: Sequence[Image.Image]) -> np.ndarray:
        if not crops:
            return np.zeros((0, self.spec.feature_dim), np.float32)
        x = to_tensor(crops, self.spec).to(self.device)
        return self.backbone(x).float().cpu().numpy()
