"""Drawing what prediction found onto a copy of the photo: a box and a label per face."""
from __future__ import annotations

from PIL import Image

from ..config import UNKNOWN
from ..types import PhotoResult


def annotate(img: Image.Image, result: PhotoResult) -> Image.Image:
    """A copy of the photo with each face's box and name drawn on it."""
    from PIL import ImageDraw, ImageFont

    out = img.copy()
    draw = ImageDraw.Draw(out)
    width = max(2, round(max(img.size) / 300))
    try:
        font = ImageFont.load_default(size=max(12, round(max(img.size) / 40)))
    except TypeError:  # older Pillow
        font = ImageFont.load_default()
    for face in result.faces:
        x1, y1, x2, y2 = face.box
        color = (230, 60, 60) if face.name == UNKNOWN else (40, 200, 90)
        draw.rectangle([x1, y1, x2, y2], outline=color, width=width)
        label = f"{face.name} {face.confidence:.2f}"
        tb = draw.textbbox((x1, y1), label, font=font)
        ty = y1 - (tb[3] - tb[1]) - 4 if y1 - (tb[3] - tb[1]) - 4 > 0 else y2 + 2
        draw.rectangle([x1, ty, x1 + (tb[2] - tb[0]) + 6, ty + (tb[3] - tb[1]) + 4], fill=color)
        draw.text((x1 + 3, ty), label, fill=(255, 255, 255), font=font)
    return out
