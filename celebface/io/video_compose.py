"""Composing test videos from still photos: shots of one or more photos side by side, with slow pans and zooms.

Tests and benchmarks use it to make videos whose truth is known (who is on screen when).
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence, Union

from PIL import Image

from .images import load_image
from .video_writer import VideoWriter


@dataclass
class Shot:
    """From `start` to `end` seconds, these photos side by side (none: an empty grey frame).

    :param zoom: zoom factor at the shot's start and end (1 = the photo fitted in its cell).
    :param pan: horizontal offset at start and end, as a share of the cell's width.
    """

    start: float
    end: float
    photos: Sequence[Union[str, os.PathLike]] = ()
    zoom: tuple[float, float] = (1.0, 1.1)
    pan: tuple[float, float] = (-0.03, 0.03)
    labels: list[str] = field(default_factory=list)  # who is in the photos (the truth), for the caller


def _fit(photo: Image.Image, cell: tuple[int, int], zoom: float, pan: float) -> Image.Image:
    """The photo scaled to fit the cell (letterboxed on grey), zoomed about its centre and shifted by `pan`."""
    cw, ch = cell
    scale = min(cw / photo.width, ch / photo.height) * zoom
    w, h = max(1, round(photo.width * scale)), max(1, round(photo.height * scale))
    img = photo.resize((w, h), Image.BILINEAR)
    canvas = Image.new("RGB", cell, (90, 90, 90))
    canvas.paste(img, (round((cw - w) / 2 + pan * cw), round((ch - h) / 2)))
    return canvas


def _load(shot: Shot, size: tuple[int, int]) -> list[Image.Image]:
    """The shot's photos, shrunk once to what the largest zoom shows (so frames are quick to draw)."""
    cell = (size[0] // max(1, len(shot.photos)), size[1])
    out = []
    for p in shot.photos:
        img = load_image(p)
        scale = min(1.0, min(cell[0] / img.width, cell[1] / img.height) * max(shot.zoom))
        if scale < 1.0:
            img = img.resize((max(1, round(img.width * scale)), max(1, round(img.height * scale))), Image.LANCZOS)
        out.append(img)
    return out


def _frame(shot: Shot, photos: list[Image.Image], t: float, size: tuple[int, int]) -> Image.Image:
    frame = Image.new("RGB", size, (90, 90, 90))
    if not photos:
        return frame
    u = 0.0 if shot.end <= shot.start else min(1.0, max(0.0, (t - shot.start) / (shot.end - shot.start)))
    zoom = shot.zoom[0] + (shot.zoom[1] - shot.zoom[0]) * u
    pan = shot.pan[0] + (shot.pan[1] - shot.pan[0]) * u
    cw = size[0] // len(photos)
    for i, photo in enumerate(photos):
        frame.paste(_fit(photo, (cw, size[1]), zoom, pan), (i * cw, 0))
    return frame


def compose_video(shots: Sequence[Shot], out: Union[str, os.PathLike], size: tuple[int, int] = (640, 360),
                  fps: float = 25.0, rotation: int = 0) -> Path:
    """Write an MP4 of the shots in order (gaps between shots are empty grey frames).

    :param shots: the shots, by start time.
    :param out: the MP4 file to write.
    :param size: frame size (width, height).
    :param fps: frame rate.
    :param rotation: display rotation stored in the file (degrees counter-clockwise; frames are stored
        rotated the other way, so players show them upright).
    """
    end = max(s.end for s in shots)
    stored = size if rotation % 180 == 0 else (size[1], size[0])
    with VideoWriter(out, fps, stored, rotation=rotation) as writer:
        k = 0
        current, photos = None, []
        while k / fps < end:
            t = k / fps
            shot = next((s for s in shots if s.start <= t < s.end), None)
            if shot is not current:
                current = shot
                photos = _load(shot, size) if shot is not None else []
            img = _frame(shot, photos, t, size) if shot is not None else Image.new("RGB", size, (90, 90, 90))
            if rotation:
                img = img.rotate(-rotation, expand=True)
            writer.write(img)
            k += 1
    return Path(out)
