"""Unit tests: synthetic vectors, boxes, images and temp files only; no sample data, no model weights."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest


def tiny_bundle(classes: tuple[str, ...] = ("Ada", "Bob"), dim: int = 8, seed: int = 0):
    """A real (small) dlib_face-style bundle: a design head on `dim`-d features and a gallery of unit vectors."""
    import torch

    from celebface.recognition.bundle import Bundle
    from celebface.recognition.heads import make_head

    torch.manual_seed(seed)
    head = make_head("design", dim, len(classes))
    rng = np.random.default_rng(seed)
    gallery = rng.normal(size=(4 * len(classes), dim)).astype(np.float32)
    gallery /= np.linalg.norm(gallery, axis=1, keepdims=True)
    config = {"classes": list(classes), "backbone": "dlib_face", "backbone_depth": 0, "head": "design",
              "feature_dim": dim, "threshold": 0.5, "score": "gallery cosine similarity",
              "preprocessing": {"margin": 0.2, "crop_size": 224, "detect_size": 800, "min_prob": 0.9}}
    state = {f"head.{k}": v for k, v in head.state_dict().items()}
    return Bundle(config, state, gallery, np.repeat(np.arange(len(classes)), 4), {"val_accuracy": 0.5})


@pytest.fixture
def bundle_factory():
    return tiny_bundle


def write_rgb(path: Path, size: tuple[int, int] = (64, 48), color=(200, 120, 40), fmt: str = "JPEG") -> Path:
    from PIL import Image

    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", size, color).save(path, fmt)
    return path
