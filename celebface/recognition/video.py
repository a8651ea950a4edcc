"""Who appears when in a video: faces found in frames sampled at --fps, linked into tracks, one name per track,
each person's appearances merged across short gaps.

Frames are decoded in a background thread while the previous one is being analysed; only a couple of frames
are held at a time and finished tracks are reduced to their summary at once, so memory stays flat in the
length of the video.
"""
from __future__ import annotations

import os
import queue
import threading
from contextlib import nullcontext
from dataclasses import dataclass, field, replace
from typing import Callable, Iterator, Optional, Sequence

import numpy as np
from pydantic import BaseModel

from ..errors import VideoError
from ..faces.align import clip_box
from ..io.video import MAX_DURATION, MAX_SIDE, VideoFrame, probe_video, read_frames
from .tracking import UNKNOWN, Appearance, FaceObservation, LinkOptions, Track, Tracker, merge_appearances, \
    name_track
from .video_reuse import ReuseOptions, carried_over, continued, look

#: progress(seconds_done, seconds_total): called after each sampled frame.
ProgressFn = Callable[[float, float], None]


class AppearanceResult(BaseModel):
    start: float
    end: float
    frames: int
    best_box: list[float]
    best_time: float


class PersonResult(BaseModel):
    name: str
    confidence: float
    appearances: list[AppearanceResult]


class VideoResult(BaseModel):
    """What `predict --json` prints for a video, and what GET /api/videos/{id} answers when done."""

    video: str
    duration: Optional[float] = None
    fps_sampled: float
    people: list[PersonResult] = []
    unknown_tracks: int = 0
    short_tracks: int = 0
    error: Optional[str] = None


@dataclass
class VideoOptions:
    """How a video is analysed.

    :param fps: frames sampled per second of video.
    :param merge_gap: a person's appearances at most this many seconds apart are joined.
    :param max_duration: longer videos are refused (seconds).
    :param max_side: frames are scaled down to this longer side before faces are looked for.
    :param min_frames: a track seen in fewer sampled frames is not named (counted in `short_tracks`): a face on
        screen for less than a sampling step is rarer than a detection that flickers for one frame.
    :param reuse: when a face that continues a track unchanged keeps its embedding (video_reuse.py).
    """

    fps: float = 2.0
    merge_gap: float = 1.0
    max_duration: float = MAX_DURATION
    max_side: int = MAX_SIDE
    min_frames: int = 2
    reuse: ReuseOptions = field(default_factory=ReuseOptions)


@dataclass
class NamedTrack:
    """A finished track with its one name (kept only when asked, e.g. to draw the annotated video)."""

    name: str
    confidence: float
    times: list[float]
    boxes: list[list[float]]


def _prefetch(frames: Iterator[VideoFrame], depth: int = 2) -> Iterator[VideoFrame]:
    """Decode the next frames in a background thread while the caller works on the current one."""
    q: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()
    done = object()

    def work() -> None:
        try:
            for item in frames:
                while not stop.is_set():
                    try:
                        q.put(item, timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            q.put(done)
        except BaseException as exc:  # handed to the consumer, raised there
            q.put(exc)

    thread = threading.Thread(target=work, name="celebface-video-decode", daemon=True)
    thread.start()
    try:
        while True:
            item = q.get()
            if item is done:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        thread.join(5)


def observe_frame(rec, frame: VideoFrame, previous: Sequence[FaceObservation] = (),
                  reuse: Optional[ReuseOptions] = None) -> list[FaceObservation]:
    """The faces in one frame fit to be named (faces/quality.py), with their embeddings and per-face (gated) names.

    :param rec: a loaded Recognizer.
    :param frame: a sampled frame.
    :param previous: the last observation of each live track: a face that continues one unchanged reuses its
        embedding and name (video_reuse.py).
    :param reuse: when it may (default ReuseOptions()).
    """
    reuse = reuse or ReuseOptions()
    with getattr(rec, "lock", None) or nullcontext():
        faces, crops = rec.face_crops(frame.image)
        looks = [look(c) for c in crops]
        prior = carried_over(faces, looks, previous, frame.time, reuse)
        # faces too poor to name (too small, not a face, too blurred) neither start nor feed a track
        quality = rec.assess(frame.image, faces, second_look=[p is None for p in prior])
        keep = [i for i, q in enumerate(quality) if q.ok]
        fresh = [i for i in keep if prior[i] is None]
        feats = np.asarray(rec.embed([crops[i] for i in fresh]), dtype=np.float32) if fresh else np.zeros((0, 1))
        matches = rec.name_crops([crops[i] for i in fresh], feats) if fresh else []
    unit = feats / np.maximum(np.linalg.norm(feats, axis=1, keepdims=True), 1e-8)
    new = {i: (e, m) for i, e, m in zip(fresh, unit, matches)}
    out = []
    for i in keep:
        box = [round(float(v), 1) for v in clip_box(faces[i].box, *frame.image.size)]
        if i in new:
            e, m = new[i]
            out.append(FaceObservation(time=frame.time, box=box, embedding=e, name=m.name,
                                       confidence=float(m.confidence), score=float(m.score),
                                       embedded_at=frame.time, look=looks[i]))
        else:
            out.append(continued(prior[i], frame.time, box))
    return out


class _Timeline:
    """Collects finished tracks: per person the appearances, the number of unknown tracks, and of tracks too short
    to name (seen in fewer than `min_frames` sampled frames: mostly a detection that flickered for one frame)."""

    def __init__(self, keep_tracks: bool, min_frames: int = 1) -> None:
        self.spans: dict[str, list[Appearance]] = {}
        self.unknown = 0
        self.short = 0
        self.min_frames = min_frames
        self.tracks: Optional[list[NamedTrack]] = [] if keep_tracks else None

    def add(self, tracks: list[Track]) -> None:
        for track in tracks:
            ident = name_track(track)
            if len(track.faces) < self.min_frames:
                self.short += 1
                ident = replace(ident, name=UNKNOWN)
            elif ident.name == UNKNOWN:
                self.unknown += 1
            if self.tracks is not None:
                self.tracks.append(NamedTrack(ident.name, ident.confidence, [f.time for f in track.faces],
                                              [f.box for f in track.faces]))
            if ident.name == UNKNOWN:
                continue
            n = len(track.faces)
            self.spans.setdefault(ident.name, []).append(Appearance(
                start=track.start, end=track.end, frames=n, best_box=ident.best.box, best_time=ident.best.time,
                best_score=ident.best.score, confidence_sum=ident.confidence * n))

    def people(self, merge_gap: float) -> list[PersonResult]:
        out = []
        for name, spans in self.spans.items():
            merged = merge_appearances(spans, merge_gap)
            frames = sum(a.frames for a in merged)
            out.append(PersonResult(name=name, confidence=round(sum(a.confidence_sum for a in merged) / frames, 4),
                                    appearances=[AppearanceResult(start=a.start, end=a.end, frames=a.frames,
                                                                  best_box=a.best_box, best_time=a.best_time)
                                                 for a in merged]))
        return sorted(out, key=lambda p: p.appearances[0].start)


def analyse_video(rec, path: os.PathLike | str, opts: Optional[VideoOptions] = None,
                  progress: Optional[ProgressFn] = None, keep_tracks: bool = False,
                  label: Optional[str] = None) -> tuple[VideoResult, Optional[list[NamedTrack]]]:
    """Like predict_video, also returning the named tracks (boxes per sampled frame) if `keep_tracks`.

    Raises VideoError for a video that cannot be read or is out of bounds.
    """
    opts = opts or VideoOptions()
    if not opts.fps or opts.fps <= 0:
        raise VideoError(f"--fps must be more than 0 (got {opts.fps})")
    info = probe_video(path, opts.max_duration)
    if hasattr(rec, "refresh"):
        rec.refresh()  # people enrolled by another process since the model was loaded
    tracker = Tracker(LinkOptions(max_gap=max(opts.merge_gap, 1.5 / opts.fps)))
    timeline = _Timeline(keep_tracks, opts.min_frames)
    total = info.duration or 0.0
    last = 0.0
    for frame in _prefetch(read_frames(path, opts.fps, opts.max_side, opts.max_duration)):
        previous = [t.faces[-1] for t in tracker.active]
        timeline.add(tracker.update(frame.time, observe_frame(rec, frame, previous, opts.reuse)))
        last = frame.time
        if progress is not None:
            progress(min(frame.time, total) if total else frame.time, total or frame.time)
    timeline.add(tracker.finish())
    duration = max(total, last)
    result = VideoResult(video=label or str(path), duration=round(duration, 3), fps_sampled=opts.fps,
                         people=timeline.people(opts.merge_gap), unknown_tracks=timeline.unknown,
                         short_tracks=timeline.short)
    return result, timeline.tracks


def predict_video(rec, path: os.PathLike | str, fps: float = 2.0, merge_gap: float = 1.0,
                  max_duration: float = MAX_DURATION, progress: Optional[ProgressFn] = None,
                  label: Optional[str] = None) -> VideoResult:
    """Who appears when: each known person's appearances (start, end, frames, best box) and the number of
    tracks of unknown faces. A video that cannot be read gives a result with "error" set; it never raises.

    :param rec: a loaded Recognizer.
    :param path: the video file.
    :param fps: frames sampled per second of video (default 2).
    :param merge_gap: a person's appearances at most this many seconds apart are joined (default 1 s).
    :param max_duration: longer videos are refused with an error (seconds).
    :param progress: progress(seconds_done, seconds_total), called after each sampled frame.
    :param label: the name shown in the result's "video" field (default: the path).
    """
    opts = VideoOptions(fps=fps, merge_gap=merge_gap, max_duration=max_duration)
    try:
        return analyse_video(rec, path, opts, progress, label=label)[0]
    except VideoError as exc:
        message = str(exc) if label is None else str(exc).replace(str(path), label)
        return VideoResult(video=label or str(path), fps_sampled=fps, error=message)
