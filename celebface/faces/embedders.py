"""dlib's 128-d face descriptor (ResNet), on faces aligned with dlib's 5-point landmark model.

dlib aligns each face (5 landmarks, 150x150 chip); the ResNet itself runs in PyTorch with the weights read from
dlib's model file (dlib_net.py): the same descriptors as dlib's own CPU code, about 18x faster in batches.

By default each face is described by the mean of the descriptors of its aligned chip and of the chip's mirror image
(test-time flip averaging), which names more faces right and makes strangers less like known people.

Weights come from the PyPI package `face-recognition-models` (found with importlib, never downloaded).
Crops are the square face crops made by align.crop_face, whose face box is known (face_box_in_crop).
"""
from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Sequence

import numpy as np
from PIL import Image

from ..config import MARGIN
from ..errors import ModelFilesMissing
from .align import face_box_in_crop
from .dlib_net import TorchDescriber

EMBED_DIM = 128
BATCH = 32  # chips per forward pass of the network


def dlib_models_dir() -> Path:
    """The models/ folder of the installed `face-recognition-models` package (its __init__ is not imported)."""
    spec = importlib.util.find_spec("face_recognition_models")
    if spec is None or not spec.submodule_search_locations:
        raise ModelFilesMissing("dlib face models not installed: run `pip install face-recognition-models==0.3.0`")
    return Path(list(spec.submodule_search_locations)[0]) / "models"


class DlibEmbedder:
    """Aligns each face crop with 5 landmarks and returns dlib's 128-d descriptor (unit length). Built by the
    identity registry (faces/identity.py: identity_embedder("dlib")), never by hand."""

    dim = EMBED_DIM

    def __init__(self, margin: float = MARGIN, flip: bool = True, mirror_only: bool = False) -> None:
        """:param margin: the margin of the crops given (align.crop_face's)
        :param flip: average each face's descriptor with its mirror image's (twice the network time)
        :param mirror_only: the mirror image's descriptor alone (to complete a cached single-view one)"""
        import dlib

        d = dlib_models_dir()
        self._dlib = dlib
        self.shape = dlib.shape_predictor(str(d / "shape_predictor_5_face_landmarks.dat"))
        self.net = TorchDescriber(d / "dlib_face_recognition_resnet_model_v1.dat")
        self.margin, self.flip, self.mirror_only = margin, flip, mirror_only

    def chip(self, crop: Image.Image) -> np.ndarray:
        """The 150x150 aligned face chip dlib's network expects."""
        arr = np.ascontiguousarray(np.asarray(crop.convert("RGB")))
        x1, y1, x2, y2 = face_box_in_crop(self.margin, crop.width)
        shape = self.shape(arr, self._dlib.rectangle(x1, y1, x2, y2))
        return self._dlib.get_face_chip(arr, shape, size=150, padding=0.25)

    def embed(self, crops: Sequence[Image.Image]) -> np.ndarray:
        """(N, 128) float32 unit vectors for N face crops."""
        if not crops:
            return np.zeros((0, EMBED_DIM), np.float32)
        chips = [self.chip(c) for c in crops]
        mirrors = [np.ascontiguousarray(c[:, ::-1]) for c in chips] if self.flip or self.mirror_only else []
        if self.mirror_only:
            return self._describe(mirrors)
        vecs = self._describe(chips + mirrors)
        if mirrors:
            vecs = vecs[:len(chips)] + vecs[len(chips):]
        return vecs / np.maximum(np.linalg.norm(vecs, axis=1, keepdims=True), 1e-8)

    def _describe(self, chips: list[np.ndarray]) -> np.ndarray:
        """Unit descriptors of chips, BATCH at a time through the network."""
        vecs = np.concatenate([self.net(chips[i:i + BATCH]) for i in range(0, len(chips), BATCH)])
        return vecs / np.maximum(np.linalg.norm(vecs, axis=1, keepdims=True), 1e-8)
