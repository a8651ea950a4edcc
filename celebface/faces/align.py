"""Cutting faces out of photos: square crops with a margin around the detector's box, optionally aligned on the
detector's 5 landmarks (eyes level, a fixed eye distance)."""
from __future__ import annotations

from typing import Optional, Sequence

import numpy as np
from PIL import Image

from ..config import CROP_SIZE, MARGIN, PAD_FILL, PAD_MODE, PAD_MODES


#: ArcFace's 5-point template for a 112x112 face crop (eyes, nose tip, mouth corners; insightface's alignment).
TEMPLATE = np.array([[38.2946, 51.6963], [73.5318, 51.5014], [56.0252, 71.7366], [41.5493, 92.3655],
                     [70.7299, 92.2041]], np.float32)
_WIDE = 0.75  # margin of the unrotated first cut of an aligned crop: room for any rotation


#: Key of a plain crop's `info` holding the face's 5 landmarks in the crop's pixels (crop_face's `points`)
POINTS_KEY = "celebface_landmarks"


def crop_face(img: Image.Image, box: list[float], margin: float = MARGIN, size: int = CROP_SIZE,
              pad: str = PAD_MODE, landmarks: Optional[Sequence[Sequence[float]]] = None,
              points: Optional[Sequence[Sequence[float]]] = None) -> Image.Image:
    """Square crop centred on the face box, its side the box's longer side plus `margin` on each side.

    :param img: the RGB photo
    :param box: the face box [x1, y1, x2, y2] in the photo's pixels (it may reach outside the photo)
    :param margin: share of the box's longer side added on each side
    :param size: side of the returned crop (resized to size x size)
    :param pad: how the parts outside the photo are filled: "constant" (config.PAD_FILL grey, the default),
        "reflect" (mirrored) or "edge" (the nearest edge pixels smeared outwards)
    :param landmarks: the detector's 5 points (eyes, nose, mouth corners) to align the face on (`prepare
        --align`): the crop is then the face turned and scaled so that they fall on TEMPLATE, inside the same
        margin; None: the plain square crop
    :param points: the detector's 5 points, carried into a plain crop's `info[POINTS_KEY]` in the crop's pixels,
        so that networks aligning on them (chips.ChipCutter) need not find them again in the crop (only for faces
        whose square lies inside the photo: see _square_inside)
    """
    if landmarks is not None:
        return aligned_crop(img, box, landmarks, margin, size, pad)
    if pad not in PAD_MODES:
        raise ValueError(f"pad must be one of {', '.join(PAD_MODES)}, not {pad!r}")
    x1, y1, x2, y2 = box
    side = max(x2 - x1, y2 - y1) * (1.0 + 2.0 * margin)
    cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
    left, top = int(round(cx - side / 2)), int(round(cy - side / 2))
    s = max(1, int(round(side)))
    # Only the pixels inside the photo are copied (never the whole photo); the rest is padded.
    x0, y0 = min(max(left, 0), img.width - 1), min(max(top, 0), img.height - 1)
    x1, y1 = max(min(left + s, img.width), x0 + 1), max(min(top + s, img.height), y0 + 1)
    inside = np.asarray(img.crop((x0, y0, x1, y1)))
    pads = ((y0 - top, top + s - y1), (x0 - left, left + s - x1), (0, 0))
    widths = [(max(0, a), max(0, b)) for a, b in pads[:2]] + [(0, 0)]
    patch = _pad(inside, widths, pad)
    patch = patch[max(0, -pads[0][0]):, max(0, -pads[1][0]):][:s, :s]
    out = Image.fromarray(np.ascontiguousarray(patch))
    out = out.resize((size, size), Image.BICUBIC) if s != size else out
    if points is not None and _square_inside(box, img.size):
        out.info[POINTS_KEY] = [[(x - left) * size / s, (y - top) * size / s] for x, y in points]
    return out


def _square_inside(box: Sequence[float], size: tuple[int, int]) -> bool:
    """Whether the square around the box (MTCNN's last stage looks at it) lies inside the photo: MTCNN stretches the
    part of a square that is inside the photo to its input, so the landmarks of a face at the photo's edge are off
    (on glint12's tight 112-px chips by up to 10 px); such faces' landmarks are found again in the crop instead."""
    x1, y1, x2, y2 = box
    half = max(x2 - x1, y2 - y1) / 2
    cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
    return cx - half >= 0 and cy - half >= 0 and cx + half <= size[0] and cy + half <= size[1]


def _pad(arr: np.ndarray, widths: list[tuple[int, int]], mode: str) -> np.ndarray:
    """np.pad with the crop's modes; "reflect" repeats the mirror when the padding is wider than the photo."""
    if mode == "constant":
        return np.pad(arr, widths, mode="constant", constant_values=PAD_FILL)
    if mode == "reflect" and min(arr.shape[:2]) < 2:
        mode = "edge"  # a 1-pixel strip has nothing to mirror
    return np.pad(arr, widths, mode="symmetric" if mode == "reflect" else "edge")


def clip_box(box: list[float], width: int, height: int) -> list[float]:
    """The box [x1, y1, x2, y2] cut to the photo's width x height (the part of a border face that is visible).

    :param box: a face box, possibly reaching outside the photo
    :param width: the photo's width in the box's pixels
    :param height: the photo's height in the box's pixels
    """
    x1, y1, x2, y2 = box
    return [min(max(x1, 0.0), width), min(max(y1, 0.0), height), min(max(x2, 0.0), width),
            min(max(y2, 0.0), height)]


def inside_share(box: list[float], width: int, height: int) -> float:
    """The share of the box's area that lies inside the photo (1.0 for a face not cut by an edge)."""
    x1, y1, x2, y2 = box
    area = max(0.0, x2 - x1) * max(0.0, y2 - y1)
    c = clip_box(box, width, height)
    return (c[2] - c[0]) * (c[3] - c[1]) / area if area > 0 else 0.0


def face_box_in_crop(margin: float = MARGIN, size: int = CROP_SIZE) -> tuple[int, int, int, int]:
    """Where the face box sits in every crop made by crop_face (the central square)."""
    inner = size / (1.0 + 2.0 * margin)
    off = (size - inner) / 2
    return int(round(off)), int(round(off)), int(round(off + inner)), int(round(off + inner))


def aligned_crop(img: Image.Image, box: list[float], landmarks: Sequence[Sequence[float]], margin: float = MARGIN,
                 size: int = CROP_SIZE, pad: str = PAD_MODE) -> Image.Image:
    """The face warped so that its 5 landmarks fall on TEMPLATE (scaled into the crop's inner square, the place
    of the face box in a plain crop): eyes level, a fixed eye distance.

    A wide unrotated crop at the final pixel scale is cut first (anti-aliased and padded as crop_face pads); the
    similarity transform is applied to it, so the warp never shrinks much (no aliasing). The plain crop is
    returned if no transform fits the points."""
    import cv2

    x1, y1, x2, y2 = box
    side = max(x2 - x1, y2 - y1)
    wide_px = int(round(size * (1 + 2 * _WIDE) / (1 + 2 * margin)))
    wide = crop_face(img, box, _WIDE, wide_px, pad)
    wide_side = side * (1 + 2 * _WIDE)
    origin = np.array([(x1 + x2) / 2 - wide_side / 2, (y1 + y2) / 2 - wide_side / 2], np.float32)
    src = (np.asarray(landmarks, np.float32) - origin) * (wide_px / wide_side)
    inner = size / (1 + 2 * margin)
    dst = (size - inner) / 2 + TEMPLATE * inner / 112.0
    m, _ = cv2.estimateAffinePartial2D(src, dst, method=cv2.LMEDS)
    if m is None:
        return crop_face(img, box, margin, size, pad)
    out = cv2.warpAffine(np.asarray(wide), m, (size, size), flags=cv2.INTER_LINEAR,
                         borderMode=cv2.BORDER_CONSTANT, borderValue=(PAD_FILL,) * 3)
    return Image.fromarray(out)
