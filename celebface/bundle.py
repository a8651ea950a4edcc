"""A trained model on disk: weights as safetensors plus JSON; written atomically, loaded without unpickling."""
from __future__ import annotations

import platform
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

import numpy as np
import torch

from .fileio import atomic_dir, read_json, write_json

FORMAT = 1


class BundleError(RuntimeError):
    """MODEL_DIR is missing, incomplete or from an incompatible version."""


@dataclass
class Bundle:
    config: dict  # classes, backbone, head, preprocessing, threshold, versions...
    state: dict[str, torch.Tensor]  # classifier weights ("backbone.*", "head.*")
    gallery: np.ndarray  # (G, D) training-face features, for "unknown" and enrolment
    gallery_labels: np.ndarray  # (G,)
    metrics: dict = field(default_factory=dict)
    extra_files: dict[str, Path] = field(default_factory=dict)  # e.g. plots, copied in as they are

    @property
    def classes(self) -> list[str]:
        return list(self.config["classes"])


def versions() -> dict[str, str]:
    import importlib.metadata as md

    out = {"python": platform.python_version()}
    for pkg in ("celebface", "torch", "torchvision", "timm", "facenet-pytorch", "dlib-bin", "numpy"):
        try:
            out[pkg] = md.version(pkg)
        except md.PackageNotFoundError:
            pass
    return out


def save_bundle(bundle: Bundle, model_dir: Path) -> None:
    """Write MODEL_DIR in one piece: a crash leaves the previous bundle (if any) untouched."""
    from safetensors.torch import save_file

    model_dir = Path(model_dir)
    with atomic_dir(model_dir) as tmp:
        save_file({k: v.detach().cpu().contiguous() for k, v in bundle.state.items()}, str(tmp / "model.safetensors"))
        save_file({"features": torch.from_numpy(np.ascontiguousarray(bundle.gallery, dtype=np.float32)),
                   "labels": torch.from_numpy(np.ascontiguousarray(bundle.gallery_labels, dtype=np.int64))},
                  str(tmp / "gallery.safetensors"))
        write_json(tmp / "config.json", {"format": FORMAT, **bundle.config, "versions": versions()})
        write_json(tmp / "metrics.json", bundle.metrics)
        for name, src in bundle.extra_files.items():
            if Path(src).exists():
                shutil.copyfile(src, tmp / name)


def load_bundle(model_dir: Path) -> Bundle:
    from safetensors.torch import load_file

    model_dir = Path(model_dir)
    if not (model_dir / "config.json").is_file():
        raise BundleError(f"{model_dir} is not a celebface model folder (no config.json); "
                          f"make one with `celebface train WORK_DIR --out {model_dir}`")
    try:
        config = read_json(model_dir / "config.json")
        state = load_file(str(model_dir / "model.safetensors"))
        gal = load_file(str(model_dir / "gallery.safetensors"))
        metrics = read_json(model_dir / "metrics.json") if (model_dir / "metrics.json").exists() else {}
    except Exception as exc:
        raise BundleError(f"{model_dir} is damaged or incomplete ({type(exc).__name__}: {exc}); train it again") from None
    if config.get("format") != FORMAT:
        raise BundleError(f"{model_dir} has bundle format {config.get('format')}, this celebface reads {FORMAT}")
    return Bundle(config, state, gal["features"].numpy(), gal["labels"].numpy(), metrics)


def update_metrics(model_dir: Path, metrics: dict, extra: Optional[dict[str, Any]] = None) -> None:
    """Replace metrics.json (and add files such as plots) inside an existing bundle, atomically per file."""
    write_json(Path(model_dir) / "metrics.json", metrics)
    for name, src in (extra or {}).items():
        tmp = Path(model_dir) / f".{name}.tmp"
        shutil.copyfile(src, tmp)
        tmp.replace(Path(model_dir) / name)
