"""A small functional layer in the spirit of face_recognition: embeddings of a photo's faces, and comparing two.

    import celebface
    faces, embs = celebface.face_embeddings("me.jpg")     # main face first; (N, dim) unit vectors
    result = celebface.compare("a.jpg", "b.jpg")           # .same, .similarity (cosine), .distance

The vectors are the default identity embedder's (faces/identity.py), or the one named: `identity="faceres"`.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from functools import lru_cache
from typing import Any, Optional, Union

import numpy as np

from ..errors import ImageError


class FaceEmbedder:
    """The default detector and an identity embedder, without a model folder."""

    def __init__(self, device: str = "cpu", identity: Optional[str] = None) -> None:
        """:param identity: the identity embedder (faces/identity.py; None: the default)"""
        from ..config import CROP_SIZE, MARGIN
        from ..faces.detect import FaceDetector
        from ..faces.identity import get_identity, identity_embedder

        self.margin, self.size, self.identity = MARGIN, CROP_SIZE, get_identity(identity)
        self.detector = FaceDetector(device=device)
        self.embedder = identity_embedder(self.identity.name, MARGIN)

    def face_embeddings(self, img: Any) -> tuple[list, np.ndarray]:
        """The photo's faces (main face first) and their (N, dim) identity vectors."""
        from ..faces.align import crop_face
        from ..faces.detect import order_faces

        faces = order_faces(self.detector.detect(img), img.size)
        crops = [crop_face(img, f.box, self.margin, self.size, points=f.landmarks) for f in faces]
        return faces, self.embedder.embed(crops) if crops else np.zeros((0, self.identity.dim), np.float32)


@lru_cache(maxsize=4)
def default_embedder(identity: Optional[str] = None) -> FaceEmbedder:
    """One FaceEmbedder per process and identity, made on first use."""
    return FaceEmbedder(identity=identity)


def face_embeddings(image: Any, embedder: Optional[Any] = None, identity: Optional[str] = None
                    ) -> tuple[list, np.ndarray]:
    """Detect the faces in `image` and embed them.

    :param image: a path, bytes, or PIL image
    :param embedder: a FaceEmbedder or a Recognizer (default: one made on first use)
    :param identity: the identity embedder when no embedder is given (None: the default)
    :return: (faces, (N, dim) float32 unit vectors), main face first
    """
    from ..io.images import load_image

    img = load_image(image)
    return (embedder or default_embedder(identity)).face_embeddings(img)


@dataclass
class Comparison:
    same: bool
    similarity: float  # cosine similarity of the two main faces, -1..1
    distance: float  # Euclidean distance of the unit embeddings (dlib's scale: same person below ~0.6)
    threshold: float

    def to_dict(self) -> dict:
        return asdict(self)


def _main_embedding(x: Any, embedder: Optional[Any], label: str) -> np.ndarray:
    if isinstance(x, np.ndarray) and x.dtype != np.uint8:
        v = x.astype(np.float32).reshape(-1)
    else:
        faces, embs = face_embeddings(x, embedder)
        if not faces:
            raise ImageError(f"no face found in {label}; use a photo where the face is clearly visible")
        v = embs[0]
    return v / max(float(np.linalg.norm(v)), 1e-8)


def _label(x: Any, default: str) -> str:
    from pathlib import Path

    return Path(x).name if isinstance(x, (str, Path)) else default


def compare(a: Union[Any, np.ndarray], b: Union[Any, np.ndarray], threshold: Optional[float] = None,
            embedder: Optional[Any] = None) -> Comparison:
    """Are the main faces of `a` and `b` the same person?

    :param a: a photo (path, bytes, PIL image) or an identity vector
    :param b: the same for the other face
    :param threshold: cosine similarity at or above which they count as the same person (default: the identity's
        own pair threshold, faces/identity_stats.py)
    :param embedder: a FaceEmbedder or a Recognizer (default: the default identity's, made on first use)
    """
    from ..faces.identity_stats import pair_threshold

    embedder = embedder or default_embedder()
    threshold = pair_threshold(embedder.identity) if threshold is None else float(threshold)
    va = _main_embedding(a, embedder, _label(a, "the first photo"))
    vb = _main_embedding(b, embedder, _label(b, "the second photo"))
    sim = float(np.clip(va @ vb, -1.0, 1.0))
    return Comparison(sim >= threshold, round(sim, 4), round(float(np.sqrt(max(2 - 2 * sim, 0.0))), 4), threshold)
