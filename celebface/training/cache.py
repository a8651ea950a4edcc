"""Caches in WORK_DIR/cache: what the frozen part of a backbone makes of each image, computed once.

Training never recomputes the frozen layers: stage 1 trains on pooled features, stage 2 runs only the
unfrozen stages on the cached activations.
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Optional

import torch

from ..io.fileio import atomic_path


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

    with atomic_path(path) as tmp:
        save_file({"x": x.contiguous()}, str(tmp), metadata={"key": key})
