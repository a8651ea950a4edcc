"""The annotated copy of a video: every frame with the boxes and names of the tracks on screen at that time.

Faces are only looked for in the sampled frames; a frame in between shows the boxes of the nearest sample
(within half a sampling step). The copy is H.264, scaled to at most `max_side` pixels, written atomically.
"""
from __future__ import annotations

import bisect
import os
from pathlib import Path
from typing import Callable, Optional, Sequence

from PIL import Image, ImageDraw, ImageFont

from ..errors import VideoError
from ..io.video import MAX_SIDE, to_image
from ..io.video_writer import VideoWriter
from .tracking import UNKNOWN
from .video import NamedTrack

#: The annotated copy's longer side (smaller than the analysed frames: it is for people to look at).
OUT_SIDE = 1280


def _boxes_at(tracks: Sequence[NamedTrack], t: float, half_step: float) -> list[tuple[str, float, list[float]]]:
    out = []
    for tr in tracks:
        if t < tr.times[0] - half_step or t > tr.times[-1] + half_step:
            continue
        i = bisect.bisect_left(tr.times, t)
        near = min((j for j in (i - 1, i) if 0 <= j < len(tr.times)), key=lambda j: abs(tr.times[j] - t))
        if abs(tr.times[near] - t) <= half_step + 1e-6:
            out.append((tr.name, tr.confidence, tr.boxes[near]))
    return out


def draw_faces(img: Image.Image, faces: Sequence[tuple[str, float, list[float]]], scale: float) -> Image.Image:
    """Draw each (name, confidence, box) on the image, boxes given in pixels of an image `1/scale` as large.

    :param img: the frame (drawn on in place and returned).
    :param faces: (name, confidence, [x1, y1, x2, y2]) per face.
    :param scale: factor from box pixels to this image's pixels.
    """
    draw = ImageDraw.Draw(img)
    width = max(2, round(max(img.size) / 400))
    font = ImageFont.load_default(size=max(12, round(max(img.size) / 50)))
    for name, conf, box in faces:
        x1, y1, x2, y2 = (v * scale for v in box)
        color = (230, 60, 60) if name == UNKNOWN else (40, 200, 90)
        draw.rectangle([x1, y1, x2, y2], outline=color, width=width)
        label = name if name == UNKNOWN else f"{name} {conf:.2f}"
        tb = draw.textbbox((0, 0), label, font=font)
        th = tb[3] - tb[1] + 4
        ty = y1 - th if y1 - th > 0 else y2
        draw.rectangle([x1, ty, x1 + tb[2] - tb[0] + 6, ty + th], fill=color)
        draw.text((x1 + 3, ty), label, fill=(255, 255, 255), font=font)
    return img


def annotate_video(path: os.PathLike | str, tracks: Sequence[NamedTrack], out: os.PathLike | str, fps_sampled: float,
                   max_side: int = MAX_SIDE, out_side: int = OUT_SIDE,
                   progress: Optional[Callable[[float], None]] = None) -> Path:
    """Write the annotated MP4 (nothing is left behind if decoding or encoding fails).

    :param path: the analysed video.
    :param tracks: its named tracks (from analyse_video(..., keep_tracks=True)).
    :param out: the MP4 to write.
    :param fps_sampled: the sampling rate the tracks were made at.
    :param max_side: the frame size the tracks' boxes refer to (as analysed).
    :param out_side: the annotated copy's longer side.
    :param progress: progress(seconds_written), called per frame.
    """
    import av

    half = 0.5 / fps_sampled
    with av.open(str(path), metadata_errors="ignore") as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        rate = float(stream.average_rate or stream.guessed_rate or 25)
        start = float(stream.start_time * stream.time_base) if stream.start_time is not None else 0.0
        writer = None
        try:
            for frame in container.decode(stream):
                t = float(frame.time) - start if frame.time is not None else 0.0
                img = to_image(frame, max_side)
                scale = min(1.0, out_side / max(img.size))
                if writer is None:
                    size = (round(img.width * scale), round(img.height * scale))
                    writer = VideoWriter(out, rate, size).__enter__()
                shown = img.resize(writer.size, Image.BILINEAR) if scale < 1.0 else img
                writer.write(draw_faces(shown, _boxes_at(tracks, t, half), writer.size[0] / img.width), time=t)
                if progress is not None:
                    progress(t)
        except av.FFmpegError as exc:
            if writer is not None:
                writer.__exit__(VideoError, None, None)
            raise VideoError(f"{path}: cannot write the annotated copy ({exc})") from None
        except BaseException as exc:
            if writer is not None:
                writer.__exit__(type(exc), exc, None)
            raise
        if writer is None:
            raise VideoError(f"{path}: no frame could be decoded for the annotated copy")
        writer.__exit__(None, None, None)
    return Path(out)
