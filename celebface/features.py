"""What the frozen part of a backbone makes of each image, computed once and cached in WORK_DIR/cache.

Training never recomputes the frozen layers: stage 1 trains on pooled features, stage 2 runs only the
unfrozen stages on the cached activations.
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Optional, Sequence

import numpy as np
import torch
from PIL import Image

from .backbones import BackboneSpec, CNNBackbone


def to_tensor(images: Sequence[Image.Image], spec: BackboneSpec) -> torch.Tensor:
    """Resize RGB face crops to the backbone's input size and normalise them: (N, 3, S, S) float32."""
    s = spec.input_size
    arr = np.stack([np.asarray(im.convert("RGB").resize((s, s), Image.BILINEAR) if im.size != (s, s)
                               else im.convert("RGB")) for im in images])
    x = torch.from_numpy(arr).permute(0, 3, 1, 2).float().div_(255.0)
    mean = torch.tensor(spec.mean).view(1, 3, 1, 1)
    std = torch.tensor(spec.std).view(1, 3, 1, 1)
    return (x - mean) / std


def resolve_device(device: str) -> str:
    """"auto" -> "cuda" when a GPU is there, else "cpu"; asking for cuda without one is a clear error."""
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise ValueError("--device cuda was asked for but no CUDA GPU is available; use --device cpu or auto")
    return device


def bf16_is_fast(device: str) -> bool:
    """True where bf16 matrix work runs in hardware: CUDA GPUs that support it, CPUs with AVX512-BF16 or AMX."""
    if device.startswith("cuda"):
        return torch.cuda.is_available() and torch.cuda.is_bf16_supported()
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as f:
            flags = next((line for line in f if line.startswith("flags")), "").split()
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


def resolve_precision(precision: str, device: str) -> str:
    """'auto' -> 'bf16' where bf16 is fast (see bf16_is_fast), else 'fp32'."""
    if precision == "auto":
        return "bf16" if bf16_is_fast(device) else "fp32"
    return precision


def autocast(device: str, precision: str):
    """bf16 autocast when asked for (and the device supports it), else a no-op context."""
    enabled = precision == "bf16"
    return torch.autocast(device_type="cuda" if device.startswith("cuda") else "cpu", dtype=torch.bfloat16,
                          enabled=enabled)


@torch.inference_mode()
def frozen_activations(backbone: CNNBackbone, spec: BackboneSpec, files: Sequence[Path], batch_size: int = 32,
                       device: str = "cpu", precision: str = "fp32", progress: bool = True) -> torch.Tensor:
    """Run the frozen stages over image files; returns float16 activations (N, C, H, W) on the CPU."""
    from tqdm import tqdm

    backbone.eval().to(device)
    out = []
    bar = tqdm(total=len(files), unit="img", desc="frozen features", disable=not progress, dynamic_ncols=True)
    for i in range(0, len(files), batch_size):
        chunk = files[i:i + batch_size]
        x = to_tensor([Image.open(f) for f in chunk], spec).to(device).contiguous(memory_format=torch.channels_last)
        with autocast(device, precision):
            a = backbone.frozen(x)
        out.append(a.float().to("cpu", torch.float16).contiguous())
        bar.update(len(chunk))
    bar.close()
    return torch.cat(out)


def cache_key(*parts: object) -> str:
    return hashlib.sha1(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:16]


def cached_tensor(path: Path, key: str) -> Optional[torch.Tensor]:
    """The tensor cached at `path` if it was made for `key`, else None."""
    if not path.exists():
        return None
    from safetensors import safe_open

    try:
        with safe_open(str(path), "pt") as f:
            if (f.metadata() or {}).get("key") != key:
                return None
            return f.get_tensor("x")
    except Exception:  # a damaged cache is recomputed, not trusted
        return None


def save_cached_tensor(path: Path, key: str, x: torch.Tensor) -> None:
    from safetensors.torch import save_file

    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(".tmp." + path.name)
    save_file({"x": x.contiguous()}, str(tmp), metadata={"key": key})
    tmp.replace(path)
