"""Writing H.264 MP4 videos with PyAV, atomically: frames go to a temporary file renamed into place at the end,
so an interrupted or failed run leaves nothing half-written."""
from __future__ import annotations

import os
from contextlib import ExitStack
from fractions import Fraction
from pathlib import Path
from typing import Optional, Union

import numpy as np
from PIL import Image

from ..errors import VideoError
from .fileio import atomic_path


class VideoWriter:
    """`with VideoWriter(path, fps, size) as w: w.write(img)`; the file appears only if the block succeeds.

    :param path: the MP4 to write.
    :param fps: frame rate (frames are evenly spaced), or None with times given to write().
    :param size: (width, height); even numbers (H.264 with yuv420p needs them), odd ones are rounded down.
    :param codec: an FFmpeg encoder name; libx264 by default (shipped inside PyAV's wheels).
    :param options: encoder options, e.g. {"preset": "veryfast", "crf": "23"}.
    """

    def __init__(self, path: Union[str, os.PathLike], fps: float, size: tuple[int, int], codec: str = "libx264",
                 options: Optional[dict] = None, rotation: int = 0) -> None:
        self.path = Path(path)
        self.fps = fps
        self.size = (max(2, size[0] // 2 * 2), max(2, size[1] // 2 * 2))
        self.codec = codec
        self.options = {"preset": "veryfast", "crf": "23"} if options is None else options
        self.rotation = rotation
        self._stack = ExitStack()
        self._container = None
        self._stream = None
        self._count = 0

    def __enter__(self) -> "VideoWriter":
        import av

        tmp = self._stack.enter_context(atomic_path(self.path))
        self._container = av.open(str(tmp), "w", format="mp4")
        self._stream = self._container.add_stream(self.codec, rate=Fraction(self.fps).limit_denominator(1000),
                                                  options=self.options)
        self._stream.width, self._stream.height = self.size
        self._stream.pix_fmt = "yuv420p"
        self._stream.time_base = Fraction(1, 1000)
        if self.rotation:
            self._stream.set_display_rotation(self.rotation)
        return self

    def write(self, img: Union[Image.Image, np.ndarray], time: Optional[float] = None) -> None:
        """Add one frame (resized to the video's size if needed), at `time` seconds or the next 1/fps step.

        :param img: an RGB PIL image or HxWx3 uint8 array.
        :param time: presentation time in seconds (for variable frame rate); default: frame count / fps.
        """
        import av

        if isinstance(img, np.ndarray):
            img = Image.fromarray(img)
        if img.size != self.size:
            img = img.resize(self.size, Image.BILINEAR)
        frame = av.VideoFrame.from_image(img.convert("RGB"))
        t = self._count / self.fps if time is None else time
        frame.pts = int(round(t * 1000))
        frame.time_base = Fraction(1, 1000)
        for packet in self._stream.encode(frame):
            self._container.mux(packet)
        self._count += 1

    def __exit__(self, exc_type, exc, tb) -> None:
        try:
            if exc_type is None:
                for packet in self._stream.encode():
                    self._container.mux(packet)
        finally:
            self._container.close()
        if exc_type is None and not self._count:
            exc_type, exc = VideoError, VideoError(f"{self.path}: no frame to write")
        self._stack.__exit__(exc_type, exc, tb)  # renames the file into place, or removes it
        if exc is not None and exc_type is VideoError and not self._count:
            raise exc
