"""How fit a detected face is to be named: size, detector probability, a second look, landmark geometry, overlap
with a larger face, and sharpness.

Every face gets a FaceQuality: a score in [0, 1] and, below config.QUALITY_MIN, the reason it is not named
("too small", "not a face", "too blurred"). Each feature is mapped to [0, 1] by a ramp that gives 0.5 at its
threshold (config.QUALITY_*) and 1.0 at its "good" value; the score is the lowest of them, so a face fails
exactly when one feature is below its threshold, and the reason is that feature's. The thresholds were measured
on the sample photos (bench/quality.py, bench/quality.md).
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Optional, Protocol, Sequence

import numpy as np
from PIL import Image

from ..config import (QUALITY_GEOMETRY, QUALITY_MIN, QUALITY_MIN_PROB, QUALITY_MIN_SIDE, QUALITY_OVERLAP,
                      QUALITY_RECHECK, QUALITY_SHARPNESS)
from ..types import Face

TOO_SMALL, NOT_A_FACE, TOO_BLURRED = "too small", "not a face", "too blurred"
#: Side of the grey square the sharpness is measured on (the face box, resized).
SHARP_SIDE = 64


@dataclass(frozen=True)
class FaceFeatures:
    """The measured features of one face (see face_features)."""

    side: float  # the face box's shorter side, in the photo's pixels
    prob: float  # MTCNN's probability
    geometry: float  # how plausible the 5 landmarks are as a face (face_geometry), <= 1
    sharpness: float  # variance of the Laplacian over the intensity variance of the face (blur_ratio)
    recheck: float = 1.0  # MTCNN's probability when the face is detected again in its own crop
    inside_other: float = 0.0  # share of the box inside a larger face's box (a part of another face)


class Rechecker(Protocol):
    """What judges a face a second time (faces.detect.FaceDetector)."""

    def confirm(self, img: Image.Image, face: Face) -> float: ...

    def confirm_all(self, img: Image.Image, faces: Sequence[Face]) -> list[float]: ...


@dataclass(frozen=True)
class FaceQuality:
    """A face's quality: `score` in [0, 1]; `reason` is None for a face fit to be named."""

    score: float
    reason: Optional[str]
    features: FaceFeatures

    @property
    def ok(self) -> bool:
        return self.reason is None


def face_geometry(landmarks: list[list[float]], box: list[float]) -> float:
    """How face-like MTCNN's 5 landmarks (left eye, right eye, nose, mouth left, mouth right) are, roll-invariant.

    In the frame of the eye line (x along it, y across it, downwards) a face has its eyes above its nose above its
    mouth, a mouth about as wide as the eyes are apart and eyes a fair share of the box apart. The result is the
    smallest of these margins, each scaled so that 1.0 is typical of a frontal face and 0 or below is impossible:
    nose between the eye line and the mouth line (as a share of the eye-mouth distance), eye-mouth distance over
    the eye distance, eye distance over the box's width.

    :param landmarks: the 5 landmarks [[x, y], ...] in photo pixels
    :param box: the face box [x1, y1, x2, y2]
    """
    if len(landmarks) != 5:
        return 0.0
    p = np.asarray(landmarks, dtype=np.float64)
    eyes, nose, mouth = (p[0] + p[1]) / 2, p[2], (p[3] + p[4]) / 2
    ex = p[1] - p[0]
    eye_dist = float(np.hypot(*ex))
    width = max(box[2] - box[0], 1e-6)
    if eye_dist < 1e-6:
        return 0.0
    ux = ex / eye_dist
    uy = np.array([-ux[1], ux[0]])  # eye line rotated 90 degrees: "down" for an upright face
    down = float((mouth - eyes) @ uy)  # eye-mouth distance across the eye line
    nose_t = float((nose - eyes) @ uy) / down if down > 1e-6 else -1.0
    mouth_w = float(np.hypot(*(p[4] - p[3])))
    margins = (
        min(nose_t, 1.0 - nose_t) / 0.45,  # nose strictly between eyes and mouth; a frontal face has t ~ 0.5
        down / eye_dist / 1.0,  # eyes above the mouth: about one eye distance on frontal faces
        eye_dist / width / 0.35,  # eyes a fair share of the box apart (profiles come down to ~0.15)
        mouth_w / eye_dist / 0.7,  # a mouth, not a point
    )
    return float(min(min(margins), 1.0))


def blur_ratio(img: Image.Image, box: list[float]) -> float:
    """Variance of the Laplacian of the face (box resized to SHARP_SIDE, grey) over its intensity variance.

    Dividing by the variance makes it a measure of how much of the face's contrast is fine detail, the same for a
    dark or a bright photo; a smooth, blurred or upscaled face gives a low ratio.

    :param img: the photo
    :param box: the face box in the photo's pixels (the part inside the photo is measured)
    """
    x1, y1, x2, y2 = box
    x1, y1 = max(0, int(x1)), max(0, int(y1))
    x2, y2 = min(img.width, int(np.ceil(x2))), min(img.height, int(np.ceil(y2)))
    if x2 - x1 < 3 or y2 - y1 < 3:
        return 0.0
    g = np.asarray(img.crop((x1, y1, x2, y2)).convert("L").resize((SHARP_SIDE, SHARP_SIDE), Image.BILINEAR),
                   dtype=np.float64)
    lap = 4 * g[1:-1, 1:-1] - g[:-2, 1:-1] - g[2:, 1:-1] - g[1:-1, :-2] - g[1:-1, 2:]
    var = float(g.var())
    return float(lap.var()) / var if var > 1e-6 else 0.0


def inside_larger(box: list[float], others: Sequence[list[float]]) -> float:
    """The largest share of `box`'s area that lies inside the box of a larger face (0.0 if none overlaps).

    :param box: a face box
    :param others: the boxes of the photo's other faces
    """
    area = max(0.0, box[2] - box[0]) * max(0.0, box[3] - box[1])
    best = 0.0
    for o in others:
        if area <= 0 or (o[2] - o[0]) * (o[3] - o[1]) <= area:
            continue
        w = min(box[2], o[2]) - max(box[0], o[0])
        h = min(box[3], o[3]) - max(box[1], o[1])
        best = max(best, max(0.0, w) * max(0.0, h) / area)
    return best


def face_features(img: Image.Image, face: Face, others: Sequence[Face] = (),
                  rechecker: Optional[Rechecker] = None) -> FaceFeatures:
    """The quality features of one detected face of `img`.

    :param img: the photo
    :param face: the face
    :param others: the photo's other faces (for inside_other)
    :param rechecker: a FaceDetector for the second look (without one, recheck is 1.0: not checked)
    """
    x1, y1, x2, y2 = face.box
    return FaceFeatures(side=float(min(x2 - x1, y2 - y1)), prob=float(face.prob),
                        geometry=face_geometry(face.landmarks, face.box), sharpness=blur_ratio(img, face.box),
                        recheck=1.0 if rechecker is None else float(rechecker.confirm(img, face)),
                        inside_other=inside_larger(face.box, [o.box for o in others if o is not face]))


def _ramp(value: float, threshold: float, good: float) -> float:
    """0.5 at the threshold, 1.0 at `good`, linear between and beyond (clipped to [0, 1])."""
    return float(np.clip(0.5 + 0.5 * (value - threshold) / (good - threshold), 0.0, 1.0))


def judge(features: FaceFeatures) -> FaceQuality:
    """The quality of a face from its features: the lowest feature score, and its reason below QUALITY_MIN."""
    parts = [
        (_ramp(features.side, *QUALITY_MIN_SIDE), TOO_SMALL),
        (_ramp(features.prob, *QUALITY_MIN_PROB), NOT_A_FACE),
        (_ramp(features.geometry, *QUALITY_GEOMETRY), NOT_A_FACE),
        (_ramp(features.recheck, *QUALITY_RECHECK), NOT_A_FACE),
        (_ramp(1.0 - features.inside_other, *QUALITY_OVERLAP), NOT_A_FACE),
        (_ramp(features.sharpness, *QUALITY_SHARPNESS), TOO_BLURRED),
    ]
    score, reason = min(parts, key=lambda p: p[0])
    return FaceQuality(round(score, 3), reason if score < QUALITY_MIN else None, features)


def face_qualities(img: Image.Image, faces: Sequence[Face], rechecker: Optional[Rechecker],
                   second_look: Optional[Sequence[bool]] = None) -> list[FaceQuality]:
    """How fit each detected face of `img` is to be named (see the module docstring).

    The second look (rechecker) is only taken for faces that pass the cheaper checks.

    :param img: the photo the faces were detected in
    :param faces: all its detected faces (box, probability, 5 landmarks in img's pixels)
    :param rechecker: the detector, for the second look (None: skipped)
    :param second_look: per face, whether to take the second look (default: all; a video face that continues
        a track already had it)
    """
    out = [judge(face_features(img, face, faces)) for face in faces]
    if rechecker is None:
        return out
    again = [i for i, q in enumerate(out) if q.ok and (second_look is None or second_look[i])]
    for i, p in zip(again, rechecker.confirm_all(img, [faces[i] for i in again])):
        out[i] = judge(replace(out[i].features, recheck=float(p)))
    return out
