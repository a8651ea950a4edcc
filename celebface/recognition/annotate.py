"""Drawing what prediction found onto a copy of the photo: a box per face and labels that never overlap.

Labels go above the box, else below it, else inside its top; a label that still collides with another is
replaced by the face's number, and a legend of the numbered faces is added under the photo. Faces without a name
(too small, not a face, too blurred) get a grey box and no label; the legend counts them in one line.
"""
from __future__ import annotations

from pathlib import Path
from typing import Optional

from PIL import Image, ImageDraw, ImageFont

from ..config import UNKNOWN
from ..types import FaceResult, PhotoResult

Rect = tuple[float, float, float, float]


def _font(img: Image.Image, scale: float = 1.0):
    try:
        return ImageFont.load_default(size=max(11, round(scale * max(img.size) / 40)))
    except TypeError:  # older Pillow
        return ImageFont.load_default()


def _label(face: FaceResult) -> str:
    if face.name is None:
        return f"? ({face.reason or 'not named'})"
    return f"{face.name} {face.confidence:.2f}"


GREY = (150, 150, 150)


def _color(face: FaceResult) -> tuple[int, int, int]:
    if face.name is None:
        return GREY
    return (230, 60, 60) if face.name == UNKNOWN else (40, 200, 90)


def _overlaps(r: Rect, others: list[Rect]) -> bool:
    return any(r[0] < o[2] and o[0] < r[2] and r[1] < o[3] and o[1] < r[3] for o in others)


def _place(box: list[float], size: tuple[int, int], placed: list[Rect], img_size: tuple[int, int]) -> Optional[Rect]:
    """The first free spot for a label of `size` next to `box`: above, below, inside the top."""
    x1, y1, x2, y2 = box
    w, h = size
    x = min(max(0.0, x1), max(0.0, img_size[0] - w))
    for y in (y1 - h - 2, y2 + 2, y1 + 2):
        r = (x, y, x + w, y + h)
        if y >= 0 and y + h <= img_size[1] and not _overlaps(r, placed):
            return r
    return None


def layout_labels(boxes: list[list[float]], sizes: list[Optional[tuple[int, int]]], img_size: tuple[int, int]
                  ) -> list[Optional[Rect]]:
    """Where each face's label goes (None: too crowded, the face gets a number and a legend entry; or the face
    has no label, size None).

    No label overlaps another label or any other face's box."""
    placed: list[Rect] = [tuple(b) for b in boxes]
    spots: list[Optional[Rect]] = []
    for i, (box, size) in enumerate(zip(boxes, sizes)):
        if size is None:
            spots.append(None)
            continue
        others = placed[:i] + placed[i + 1:]
        spot = _place(box, size, others, img_size)
        if spot is not None:
            placed.append(spot)
        spots.append(spot)
    return spots


def legend_lines(numbered: list[tuple[int, FaceResult]], unnamed: int) -> list[tuple[str, tuple[int, int, int]]]:
    """The legend under a crowded photo: each numbered face's label, then one count of the faces without a name.

    :param numbered: (number, face) of each named face whose label did not fit
    :param unnamed: faces drawn without a label because they have no name
    """
    lines = [(f"{i}: {_label(f)}", _color(f)) for i, f in numbered]
    if unnamed:
        lines.append((f"{unnamed} face{'s' if unnamed != 1 else ''} without a name", GREY))
    return lines


def annotate(img: Image.Image, result: PhotoResult) -> Image.Image:
    """A copy of the photo with each face's box and a legible label (or number and legend) drawn on it."""
    out = img.copy()
    draw = ImageDraw.Draw(out)
    width = max(2, round(max(img.size) / 300))
    font = _font(img)
    scale = img.width / result.width if result.width else 1.0
    boxes = [[v * scale for v in f.box] for f in result.faces]
    texts = [_label(f) for f in result.faces]
    sizes = [None if f.name is None else (lambda tb: (tb[2] - tb[0] + 6, tb[3] - tb[1] + 4))(
        draw.textbbox((0, 0), t, font=font)) for f, t in zip(result.faces, texts)]
    numbered: list[tuple[int, FaceResult]] = []
    for i, (face, box, text, spot) in enumerate(zip(result.faces, boxes, texts,
                                                    layout_labels(boxes, sizes, img.size)), start=1):
        draw.rectangle(box, outline=_color(face), width=width)
        if face.name is None:  # a grey box, no label: counted once in the legend
            continue
        if spot is None:  # crowded: number the face, name it in the legend
            text, numbered = str(i), numbered + [(i, face)]
            tb = draw.textbbox((0, 0), text, font=font)
            spot = (box[0], box[1], box[0] + tb[2] - tb[0] + 6, box[1] + tb[3] - tb[1] + 4)
        draw.rectangle(spot, fill=_color(face))
        draw.text((spot[0] + 3, spot[1]), text, fill=(255, 255, 255), font=font)
    lines = legend_lines(numbered, sum(f.name is None for f in result.faces))
    return _with_legend(out, lines, font) if lines else out


def _with_legend(img: Image.Image, legend: list[tuple[str, tuple[int, int, int]]], font) -> Image.Image:
    """The photo with a white strip under it listing the legend's lines (text, colour)."""
    lines = [text for text, _ in legend]
    probe = ImageDraw.Draw(img)
    line_h = max(probe.textbbox((0, 0), t, font=font)[3] for t in lines) + 4
    cols = max(1, img.width // max(probe.textbbox((0, 0), t, font=font)[2] + 20 for t in lines))
    rows = -(-len(lines) // cols)
    out = Image.new("RGB", (img.width, img.height + rows * line_h + 8), (255, 255, 255))
    out.paste(img, (0, 0))
    draw = ImageDraw.Draw(out)
    col_w = img.width // cols
    for k, (text, color) in enumerate(legend):
        x, y = (k % cols) * col_w + 4, img.height + 4 + (k // cols) * line_h
        draw.text((x, y), text, fill=color, font=font)
    return out


def save_annotated(img: Image.Image, result: PhotoResult, folder: Path) -> Path:
    """Write the annotated copy of a named photo into `folder` as STEM.annotated.jpg (atomically); returns its path.

    :param img: the decoded photo the result was computed on
    :param folder: an existing, writable folder
    """
    from ..io.fileio import save_image

    dst = Path(folder) / f"{Path(result.image).stem}.annotated.jpg"
    save_image(annotate(img, result), dst, 90)
    return dst
