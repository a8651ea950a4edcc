"""Reading videos with PyAV: probe, then stream RGB frames sampled by timestamp (rotation applied).

Frames are picked by their presentation time, not their index, so variable frame rate videos are sampled
evenly in time. Sparse sampling seeks instead of decoding everything in between. Only one decoded frame is
held at a time, so memory stays flat however long the video. Large frames (4K, 8K) are scaled down by
FFmpeg's scaler while converting to RGB.
"""
from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Optional, Union

from PIL import Image

from ..errors import VideoError

VideoSource = Union[str, os.PathLike]

VIDEO_SUFFIXES = {".mp4", ".m4v", ".mov", ".mkv", ".webm", ".avi", ".mpg", ".mpeg", ".ts", ".mts", ".m2ts",
                  ".wmv", ".flv", ".3gp", ".ogv"}
#: Videos longer than this (seconds) are refused unless the caller raises the limit (--max-duration).
MAX_DURATION = 3 * 3600.0
#: Frames are scaled down so that their longer side is at most this many pixels (faces are found at 800 px).
MAX_SIDE = 1920
#: Sampling steps longer than this (seconds) seek to the next sample instead of decoding every frame.
SEEK_STEP = 4.0


@dataclass
class VideoInfo:
    """What the container says about a video's first video stream (sizes as displayed, rotation applied)."""

    path: str
    duration: Optional[float]  # None when the container does not say
    width: int
    height: int
    rotation: int
    fps: Optional[float]
    codec: str


@dataclass
class VideoFrame:
    """One sampled frame: its presentation time in seconds and its RGB picture (rotated, maybe scaled down)."""

    time: float
    image: Image.Image


def is_video_name(path: VideoSource) -> bool:
    """True for file names that look like videos (hidden files and other suffixes are skipped).

    :param path: a file path or name.
    """
    p = Path(path)
    return not p.name.startswith(".") and p.suffix.lower() in VIDEO_SUFFIXES


def _open(path: VideoSource):
    import av

    from .fileio import not_a_file

    name = str(path)
    if not_a_file(name):
        raise VideoError(f"{name}: {not_a_file(name)}")
    if not os.path.isfile(name):
        raise VideoError(f"{name}: no such video file")
    try:
        container = av.open(name, metadata_errors="ignore")
    except (av.FFmpegError, UnicodeDecodeError) as exc:
        raise VideoError(f"{name}: not a readable video: truncated, corrupt or not a video ({_reason(exc)}); "
                         f"send a complete MP4, MOV, MKV, WebM or AVI file") from None
    fmt = container.format.name
    if fmt in ("image2", "image2pipe") or fmt.endswith("_pipe"):  # FFmpeg reads a photo as a one-frame video
        container.close()
        raise VideoError(f"{name}: is a photo, not a video; name the faces in photos with `celebface predict` "
                         f"or POST /api/predict")
    if not container.streams.video:
        container.close()
        raise VideoError(f"{name}: has no video stream (audio only?); send a file with pictures")
    return container


def _reason(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.split(": '")[0][:200]


def _duration(container, stream) -> float:
    if stream.duration is not None and stream.time_base is not None:
        return float(stream.duration * stream.time_base)
    if container.duration is not None:
        return container.duration / 1_000_000.0
    return 0.0


def header_duration(path: VideoSource) -> Optional[float]:
    """A video's duration in seconds from its header alone (nothing decoded); None when unknown or unreadable.

    :param path: the video file.
    """
    try:
        container = _open(path)
    except VideoError:
        return None
    try:
        duration = _duration(container, container.streams.video[0])
        return duration if duration > 0 else None
    finally:
        container.close()


def probe_video(path: VideoSource, max_duration: float = MAX_DURATION) -> VideoInfo:
    """Open a video and read its header: duration, displayed size, rotation, frame rate, codec.

    Raises VideoError (never anything else) for a missing, unreadable or audio-only file, a video whose
    duration is unknown or 0, or one longer than `max_duration`.

    :param path: the video file.
    :param max_duration: the longest video accepted, in seconds.
    """
    container = _open(path)
    try:
        stream = container.streams.video[0]
        duration = _duration(container, stream)
        if duration <= 0 and stream.frames == 0 and stream.duration is not None:
            raise VideoError(f"{path}: the video has no frames (0 s long); send a video with pictures")
        if duration > max_duration:
            raise VideoError(f"{path}: {duration:,.0f} s long, over the {max_duration:,.0f} s limit; "
                             f"cut it shorter or raise --max-duration")
        rotation = _stream_rotation(container, stream)
        w, h = stream.codec_context.width, stream.codec_context.height
        if rotation % 180:
            w, h = h, w
        rate = stream.average_rate or stream.guessed_rate
        return VideoInfo(path=str(path), duration=round(duration, 3) if duration > 0 else None, width=int(w),
                         height=int(h), rotation=rotation, fps=float(rate) if rate else None,
                         codec=stream.codec_context.name)
    finally:
        container.close()


def _stream_rotation(container, stream) -> int:
    """Rotation (degrees counter-clockwise) of the first frame; 0 when the video has no frame to show it."""
    try:
        for frame in container.decode(stream):
            return _rotation(frame)
    except Exception:  # a damaged first packet: reported when frames are read
        return 0
    return 0


def _rotation(frame) -> int:
    return int(round(getattr(frame, "rotation", 0) or 0)) % 360


def to_image(frame, max_side: int = MAX_SIDE) -> Image.Image:
    """A decoded PyAV frame as an RGB PIL image: scaled so its longer side is at most `max_side`, rotated
    as its display matrix says.

    :param frame: an av.VideoFrame.
    :param max_side: the longest side in pixels after scaling.
    """
    scale = min(1.0, max_side / max(frame.width, frame.height, 1))
    if scale < 1.0:
        w, h = max(2, round(frame.width * scale)), max(2, round(frame.height * scale))
        img = frame.to_image(width=w, height=h)
    else:
        img = frame.to_image()
    rotation = _rotation(frame)
    if rotation == 90:
        img = img.transpose(Image.Transpose.ROTATE_90)
    elif rotation == 180:
        img = img.transpose(Image.Transpose.ROTATE_180)
    elif rotation == 270:
        img = img.transpose(Image.Transpose.ROTATE_270)
    return img


def sample_times(duration: float, fps: float) -> Iterator[float]:
    """The sampling instants 0, 1/fps, 2/fps, ... before `duration`.

    :param duration: video length in seconds.
    :param fps: samples per second.
    """
    step = 1.0 / fps
    k = 0
    while k * step < duration:
        yield round(k * step, 6)
        k += 1


def read_frames(path: VideoSource, fps: float = 2.0, max_side: int = MAX_SIDE,
                max_duration: float = MAX_DURATION, start: float = 0.0,
                end: Optional[float] = None) -> Iterator[VideoFrame]:
    """Stream the frames shown at 0, 1/fps, 2/fps ... seconds (the frame on screen at each instant).

    Raises VideoError for a file that cannot be read, or that breaks off (truncated/corrupt) before the
    end its header announces.

    :param path: the video file.
    :param fps: frames sampled per second of video.
    :param max_side: frames are scaled down to this longer side.
    :param max_duration: the longest video accepted, in seconds.
    :param start: only the samples from this time on (a part of a long video: it seeks there first; the samples
        are the same frames at the same times as those a read of the whole video gives)
    :param end: only the samples before this time (None: to the end)
    """
    if not fps or fps <= 0:
        raise VideoError(f"--fps must be more than 0 (got {fps})")
    info = probe_video(path, max_duration)
    first_time = first_sample(start, fps) / fps
    if (end is not None and first_time >= end) or (start > 0 and info.duration and first_time >= info.duration):
        return  # no sampling instant in this part
    container = _open(path)
    try:
        yield from _sample(container, info, fps, max_side, max_duration, start, end)
    finally:
        container.close()


def first_sample(start: float, fps: float) -> int:
    """The number of the first sampling instant k / fps at or after `start`."""
    return max(0, math.ceil(start * fps - 1e-6))


def _sample(container, info: VideoInfo, fps: float, max_side: int, max_duration: float, start: float = 0.0,
            end: Optional[float] = None) -> Iterator[VideoFrame]:
    import av

    stream = container.streams.video[0]
    stream.thread_type = "AUTO"
    origin = float(stream.start_time * stream.time_base) if stream.start_time is not None else 0.0
    step, stop = 1.0 / fps, math.inf if end is None else end
    emitted = first_sample(start, fps)
    target, last_time, pending, first = round(emitted * step, 6), None, None, emitted
    try:
        frames = _decode_seeking(container, stream, origin, step, lambda: target, seek_first=first > 0)  # noqa: B023
        for frame in frames:
            t = float(frame.time) - origin if frame.time is not None else (last_time or 0.0)
            last_time = t
            if t > max_duration:
                raise VideoError(f"{info.path}: longer than the {max_duration:,.0f} s limit; cut it shorter or "
                                 f"raise --max-duration")
            # The frame on screen at `target` is the last one whose time is <= target.
            while pending is not None and t > target + 1e-6 and target < stop:
                yield VideoFrame(round(target, 6), to_image(pending, max_side))
                emitted += 1
                target = round(emitted * step, 6)
            if target >= stop:
                return  # this part of the video is done
            pending = frame
    except av.FFmpegError as exc:
        raise VideoError(f"{info.path}: corrupt or truncated video at {last_time or 0:.1f} s "
                         f"({_reason(exc)})") from None
    frame_time = 1.0 / info.fps if info.fps else 0.0
    if pending is not None and target < (last_time or 0.0) + max(frame_time, 1e-3) and target < stop:
        yield VideoFrame(round(target, 6), to_image(pending, max_side))
        emitted += 1
    _check_complete(info, emitted - first, last_time, step)


def _decode_seeking(container, stream, start: float, step: float, next_target, seek_first: bool = False) -> Iterator:
    """Decode frames in order; when samples are far apart, seek near the next one instead of decoding all.

    :param seek_first: seek to the first sample's keyframe before decoding (a part of a long video)"""
    if step < SEEK_STEP:
        if seek_first:
            container.seek(int((start + next_target()) / stream.time_base), stream=stream, backward=True,
                           any_frame=False)
        yield from container.decode(stream)
        return
    while True:
        goal = next_target()
        container.seek(int((start + goal) / stream.time_base), stream=stream, backward=True, any_frame=False)
        got = False
        for frame in container.decode(stream):
            got = True
            yield frame
            if next_target() > goal:  # this sample is done: seek to the next one
                break
        else:
            return
        if not got:
            return


def _check_complete(info: VideoInfo, emitted: int, last_time: Optional[float], step: float) -> None:
    if emitted == 0 or last_time is None:
        raise VideoError(f"{info.path}: no frame could be decoded (empty, truncated or corrupt video)")
    slack = max(1.0, 2 * step, 2.0 / (info.fps or 1.0))
    if info.duration and last_time < info.duration - slack:
        raise VideoError(f"{info.path}: the video breaks off at {last_time:.1f} s of the {info.duration:.1f} s its "
                         f"header gives (truncated or corrupt); re-encode or re-download it")
