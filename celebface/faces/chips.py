"""The 112-px face chip that ArcFace-style networks (MobileFace, SFace) take: the face warped so that its 5 landmarks
fall on ArcFace's template (insightface's alignment), cut from the square crops identity embedders are given.

The landmarks are those a crop carries from the photo's own detection (align.crop_face's `points`: recognition and
enrolment pass them), else found again in the crop by MTCNN (faces.detect), the face nearest the crop's centre; a
crop where none is found is fed as its face box, resized (unaligned)."""
from __future__ import annotations

import threading
from typing import Optional, Sequence

import numpy as np
from PIL import Image

from ..config import MARGIN, PAD_FILL
from .align import POINTS_KEY, TEMPLATE, face_box_in_crop

CHIP = 112  # the template's side


def aligned_chip(img: np.ndarray, points: Sequence[Sequence[float]], size: int = CHIP) -> np.ndarray:
    """The size x size face chip whose 5 landmarks fall on ArcFace's template (insightface's alignment).

    :param img: RGB image (H, W, 3) uint8
    :param points: the face's 5 landmarks (eyes, nose tip, mouth corners) in img's pixels
    :param size: the chip's side (the template is for 112)"""
    import cv2

    dst = TEMPLATE * (size / 112.0)
    m, _ = cv2.estimateAffinePartial2D(np.asarray(points, np.float32), dst, method=cv2.LMEDS)
    if m is None:
        raise ValueError("no similarity transform fits these landmarks")
    return cv2.warpAffine(img, m, (size, size), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT,
                          borderValue=(PAD_FILL,) * 3)


class ChipCutter:
    """Aligned 112-px chips of square face crops (align.crop_face's, with `margin`); thread-safe."""

    def __init__(self, margin: float = MARGIN, size: int = CHIP) -> None:
        """:param margin: the margin of the crops given
        :param size: the chips' side"""
        self.margin, self.size = margin, size
        self._detector = None
        self._lock = threading.Lock()

    def detector(self, side: int):
        """MTCNN (faces.detect.FaceDetector), made once, never shrinking crops of the first one's `side`."""
        with self._lock:
            if self._detector is None:
                from .detect import FaceDetector

                self._detector = FaceDetector(detect_size=side, min_prob=0.5)
            return self._detector

    def landmarks(self, crop: Image.Image) -> Optional[list[list[float]]]:
        """MTCNN's 5 landmarks of the face nearest the crop's centre (None: no face found).

        :param crop: a square face crop"""
        faces = self.detector(max(crop.size)).detect(crop.convert("RGB"))
        if not faces:
            return None
        c = crop.width / 2
        best = min(faces, key=lambda f: abs((f.box[0] + f.box[2]) / 2 - c) + abs((f.box[1] + f.box[3]) / 2 - c))
        return best.landmarks

    def chips(self, crops: Sequence[Image.Image], landmarks: Optional[Sequence] = None) -> np.ndarray:
        """(N, size, size, 3) uint8 RGB chips of N crops.

        :param crops: square face crops with `margin`
        :param landmarks: each crop's 5 points in the crop's pixels, if known (else those the crop carries from the
            photo's detection, align.crop_face's `points`, else MTCNN finds them in the crop)"""
        out = []
        for i, crop in enumerate(crops):
            pts = landmarks[i] if landmarks is not None else crop.info.get(POINTS_KEY) or self.landmarks(crop)
            arr = np.ascontiguousarray(np.asarray(crop.convert("RGB")))
            if pts is None:
                x1, y1, x2, y2 = face_box_in_crop(self.margin, crop.width)
                face = Image.fromarray(arr[y1:y2, x1:x2]).resize((self.size, self.size), Image.BICUBIC)
                out.append(np.asarray(face))
            else:
                out.append(aligned_chip(arr, pts, self.size))
        return np.stack(out) if out else np.zeros((0, self.size, self.size, 3), np.uint8)
