"""What an identity does to a network's raw outputs: centring (some networks' outputs all lie in one cone, e.g.
faceres's pooled features are all >= 0), unit length, and score-level fusion of several identities as one vector.

Fusion: each part's unit vector is scaled by the square root of its weight and the parts are joined, then divided
by the root of the weights' sum. Two joined vectors' cosine is then sum(w_i * cos_i) / sum(w_i): the weighted sum of
the parts' cosines. With w_i = 1 / (the part's impostor cosine spread), that ranks pairs exactly as the sum of the
parts' z-normalised cosines does, and every vector index (exact, HNSW, pgvector) searches it unchanged.
"""
from __future__ import annotations

from typing import Callable, Optional, Sequence

import numpy as np


def unit(vecs: np.ndarray) -> np.ndarray:
    """Rows at unit length (float32)."""
    vecs = np.asarray(vecs, np.float32)
    return vecs / np.maximum(np.linalg.norm(vecs, axis=1, keepdims=True), 1e-8)


def flip_averaged(run: Callable[[np.ndarray], np.ndarray], images: np.ndarray, dim: int, batch: int,
                  flip: bool = True) -> np.ndarray:
    """(N, dim) outputs of a network on N images, each averaged with its mirror image's; a chunk of faces and their
    mirror images go through the network in one call of at most `batch` images.

    :param run: (M, H, W, C) float32 images -> (M, dim) outputs (the network, fed as it wants)
    :param images: (N, H, W, C) images
    :param dim: the outputs' length
    :param batch: images per call
    :param flip: False: the images alone (no mirror image)"""
    views = 2 if flip else 1
    step = max(1, batch // views)
    out = np.zeros((len(images), dim), np.float32)
    for i in range(0, len(images), step):
        chunk = images[i:i + step]
        both = np.concatenate([chunk, chunk[:, :, ::-1]]) if flip else chunk
        out[i:i + step] = np.asarray(run(np.ascontiguousarray(both))).reshape(views, len(chunk), -1).mean(0)
    return out


def centred_unit(vecs: np.ndarray, center: Optional[np.ndarray]) -> np.ndarray:
    """Rows less `center` (when given), at unit length."""
    vecs = np.asarray(vecs, np.float32)
    return unit(vecs - center if center is not None else vecs)


def fuse(parts: Sequence[np.ndarray], weights: Sequence[float]) -> np.ndarray:
    """The joined unit vectors of several identities' unit vectors (rows aligned), weighted as the module says.

    :param parts: one (N, d_i) array of unit vectors per identity
    :param weights: each identity's weight (> 0)"""
    w = np.asarray(weights, np.float64)
    if len(parts) != len(w) or (w <= 0).any():
        raise ValueError("one positive weight per part")
    joined = np.concatenate([np.asarray(p, np.float32) * np.float32(np.sqrt(wi)) for p, wi in zip(parts, w)], axis=1)
    return joined / np.float32(np.sqrt(w.sum()))


def fusion_weights(spreads: Sequence[float]) -> list[float]:
    """Weights that make the fused cosine rank pairs as the sum of z-normalised cosines (1 / spread, summing to 1).

    :param spreads: each part's standard deviation of impostor cosines"""
    inv = 1.0 / np.asarray(spreads, np.float64)
    return [float(x) for x in inv / inv.sum()]


class CentredEmbedder:
    """A network's raw outputs, centred and at unit length."""

    def __init__(self, raw, center: Optional[np.ndarray], dim: int) -> None:
        """:param raw: an embedder of raw vectors (.embed(crops) -> (N, dim))
        :param center: the mean raw vector to subtract (None: none)"""
        self.raw, self.center, self.dim = raw, center, int(dim)

    def embed(self, crops: Sequence) -> np.ndarray:
        if not len(crops):
            return np.zeros((0, self.dim), np.float32)
        return centred_unit(self.raw.embed(crops), self.center)


class FusedEmbedder:
    """Several identities' unit vectors joined into one (score-level fusion, see the module docstring)."""

    def __init__(self, parts: Sequence, weights: Sequence[float]) -> None:
        """:param parts: identity embedders (unit vectors out)
        :param weights: each one's weight"""
        self.parts, self.weights = list(parts), [float(w) for w in weights]
        self.dim = int(sum(p.dim for p in self.parts))

    def embed(self, crops: Sequence) -> np.ndarray:
        if not len(crops):
            return np.zeros((0, self.dim), np.float32)
        return fuse([p.embed(crops) for p in self.parts], self.weights)
