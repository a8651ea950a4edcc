"""Carrying a face's embedding and name over to the next sampled frames of a video instead of computing them again.

A new face costs a second look by the detector (faces/quality.py, about 0.04 s) and two views through dlib's network
(about 0.015 s). In consecutive sampled frames a
face that stays where it was and looks the same is the same face: its track's last embedding and name are reused,
and the face is embedded afresh once `reembed` seconds have passed since its embedding was made, or as soon as its
thumbnail no longer resembles the one that was embedded (a cut to someone else at the same place, a turn of the
head). Faces that do not continue a track this way are embedded as before.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Optional, Sequence

import numpy as np
from PIL import Image

from ..types import Face
from .tracking import FaceObservation, iou

LOOK_SIDE = 24  # thumbnail side in pixels


@dataclass
class ReuseOptions:
    """When a face may take over the previous frame's embedding of its track.

    :param reembed: seconds after which a face is embedded again even if it did not change (0: every frame).
    :param min_iou: overlap with the track's last box.
    :param min_look: normalised correlation of the grey thumbnails (the embedded one and now); the same face
        half a second later scores > 0.9.
    """

    reembed: float = 1.0
    min_iou: float = 0.5
    min_look: float = 0.85


def look(crop: Image.Image) -> np.ndarray:
    """A face crop's grey LOOK_SIDE x LOOK_SIDE thumbnail, zero mean and unit length (for a correlation)."""
    arr = np.asarray(crop.convert("L").resize((LOOK_SIDE, LOOK_SIDE), Image.BILINEAR), np.float32).ravel()
    arr = arr - arr.mean()
    return arr / max(float(np.linalg.norm(arr)), 1e-6)


def carried_over(faces: Sequence[Face], looks: Sequence[np.ndarray], previous: Sequence[FaceObservation],
                 now: float, opts: ReuseOptions) -> list[Optional[FaceObservation]]:
    """For each face, the previous observation whose embedding it may reuse (None: embed it).

    :param faces: this frame's detected faces.
    :param looks: their thumbnails (look()).
    :param previous: the last observation of each live track.
    :param now: this frame's time.
    :param opts: the reuse rules.
    """
    out: list[Optional[FaceObservation]] = [None] * len(faces)
    if opts.reembed <= 0:
        return out
    pairs = []
    for i, face in enumerate(faces):
        for j, prev in enumerate(previous):
            if prev.look is None or now - prev.embedded_at >= opts.reembed - 1e-6:
                continue
            overlap = iou(face.box, prev.box)
            if overlap >= opts.min_iou and float(looks[i] @ prev.look) >= opts.min_look:
                pairs.append((overlap, i, j))
    used: set[int] = set()
    for _, i, j in sorted(pairs, reverse=True):  # best overlap first, each track's face taken once
        if out[i] is None and j not in used:
            out[i] = previous[j]
            used.add(j)
    return out


def continued(prev: FaceObservation, time: float, box: list[float]) -> FaceObservation:
    """The observation of a face that reuses `prev`'s embedding, name and thumbnail at a new time and place."""
    return replace(prev, time=time, box=box)
