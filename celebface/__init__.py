"""celebface: learn people's faces from a folder of photos, then name the faces in new photos.

    import celebface
    rec = celebface.load("models/sports5")
    rec.predict_image("photo.jpg")   # PhotoResult: .faces[i].box, .name, .confidence, .top; .model_dump()
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from .runtime import thread_env

thread_env()  # OpenMP waits passively (runtime.py's thread policy): must precede torch's first import

__version__ = "0.1.0"
__all__ = ["load", "prepare", "train", "evaluate", "PrepareOptions", "TrainOptions", "CelebfaceError", "init",
           "face_embeddings", "compare"]

if TYPE_CHECKING:
    from .config import PrepareOptions, TrainOptions
    from .data.prepare import prepare
    from .errors import CelebfaceError
    from .recognition.recognizer import load
    from .training.evaluate import evaluate
    from .training.train import train

#: Where each public name lives; heavy modules (torch, MTCNN) are imported on first use, never at import.
_WHERE = {"load": "recognition.recognizer", "prepare": "data.prepare", "PrepareOptions": "config",
          "train": "training.train", "TrainOptions": "config", "evaluate": "training.evaluate",
          "CelebfaceError": "errors", "init": "recognition.init_model", "face_embeddings": "gallery.api",
          "compare": "gallery.api"}


def __getattr__(name: str):
    import importlib

    if name in _WHERE:
        return getattr(importlib.import_module(f".{_WHERE[name]}", __name__), name)
    raise AttributeError(name)
