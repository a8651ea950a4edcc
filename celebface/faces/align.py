"""Cutting faces out of photos: square crops with a margin around the detector's box."""
from __future__ import annotations

import numpy as np
from PIL import Image

from ..config import CROP_SIZE, MARGIN


def crop_face(img: Image.Image, box: list[float], margin: float = MARGIN, size: int = CROP_SIZE) -> Image.Image:
    """Square crop centred on the face box, its side the box's longer side plus `margin` on each side.

    Parts outside the photo are filled with the nearest edge pixels; the result is resized to size x size.
    """
    x1, y1, x2, y2 = box
    side = max(x2 - x1, y2 - y1) * (1.0 + 2.0 * margin)
    cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
    left, top = int(round(cx - side / 2)), int(round(cy - side / 2))
    s = max(1, int(round(side)))
    arr = np.asarray(img)
    ys = np.clip(np.arange(top, top + s), 0, img.height - 1)
    xs = np.clip(np.arange(left, left + s), 0, img.width - 1)
    # Take only the pixels needed (no full-photo copy), replicating edges where the square leaves the photo.
    patch = arr[ys[:, None], xs[None, :]]
    out = Image.fromarray(patch)
    return out.resize((size, size), Image.BICUBIC) if s != size else out


def face_box_in_crop(margin: float = MARGIN, size: int = CROP_SIZE) -> tuple[int, int, int, int]:
    """Where the face box sits in every crop made by crop_face (the central square)."""
    inner = size / (1.0 + 2.0 * margin)
    off = (size - inner) / 2
    return int(round(off)), int(round(off)), int(round(off + inner)), int(round(off + inner))
