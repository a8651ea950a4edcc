"""celebface: learn people's faces from a folder of photos, then name the faces in new photos.

    import celebface
    rec = celebface.load("models/sports5")
    rec.predict_image("photo.jpg")   # {"image": ..., "faces": [{"box", "name", "confidence", "top"}], "error": None}
"""
from __future__ import annotations

from typing import TYPE_CHECKING

__version__ = "0.1.0"
__all__ = ["load", "prepare", "train", "evaluate", "PrepareOptions", "TrainOptions"]

if TYPE_CHECKING:
    from .evaluate import evaluate
    from .predict import load
    from .prepare import PrepareOptions, prepare
    from .train import TrainOptions, train


def __getattr__(name: str):
    # Heavy modules (torch, MTCNN) are imported on first use, never at `import celebface`.
    import importlib

    where = {"load": "predict", "prepare": "prepare", "PrepareOptions": "prepare", "train": "train",
             "TrainOptions": "train", "evaluate": "evaluate"}
    if name in where:
        return getattr(importlib.import_module(f".{where[name]}", __name__), name)
    raise AttributeError(name)
