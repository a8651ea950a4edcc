"""Cutting faces out of photos: square crops with a margin around the detector's box."""
from __future__ import annotations

import numpy as np
from PIL import Image

from ..config import CROP_SIZE, MARGIN, PAD_FILL, PAD_MODE, PAD_MODES


def crop_face(img: Image.Image, box: list[float], margin: float = MARGIN, size: int = CROP_SIZE,
              pad: str = PAD_MODE) -> Image.Image:
    """Square crop centred on the face box, its side the box's longer side plus `margin` on each side.

    :param img: the RGB photo
    :param box: the face box [x1, y1, x2, y2] in the photo's pixels (it may reach outside the photo)
    :param margin: share of the box's longer side added on each side
    :param size: side of the returned crop (resized to size x size)
    :param pad: how the parts outside the photo are filled: "constant" (config.PAD_FILL grey, the default),
        "reflect" (mirrored) or "edge" (the nearest edge pixels smeared outwards, as before issue 11)
    """
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
    return out.resize((size, size), Image.BICUBIC) if s != size else out


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
