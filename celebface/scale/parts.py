"""The index job's units of work: a photo, a whole video, or one part of a long video.

A long video is one file but hours of frames; as one task it would keep one worker busy while the others wait.
Videos longer than `segment` seconds (their length read from the header, nothing decoded) are cut into parts of
`segment` seconds, each its own task; a part samples exactly the frames, at the same times, that a read of the
whole video gives in its span (io/video.read_frames(start, end)). The shard is written once every part of every
source is in (collect.py), so a video is still finished, skipped or redone as one source.
"""
from __future__ import annotations

from dataclasses import dataclass
from itertools import groupby
from typing import Optional

from .shards import ShardPlan

#: Default length of a part of a long video, seconds (about 3 minutes of work at 2 frames a second on one core).
SEGMENT = 600.0
#: `end` of a work item that runs to the end of its source (a photo, or a whole video).
TO_END = -1.0


@dataclass(frozen=True)
class WorkItem:
    """One task: a source path in a shard, and for a part of a video its span [start, end) in seconds."""

    path: str
    shard: str
    start: float = 0.0
    end: float = TO_END

    @property
    def part(self) -> Optional[float]:
        """The part's start for a part of a video; None for a whole source (the `segment` column of its rows)."""
        return None if self.end == TO_END and self.start == 0.0 else self.start


def video_spans(path: str, segment: float) -> list[tuple[float, float]]:
    """[(start, end)] of the parts of a local video longer than `segment` seconds, the last one to its end;
    [(0.0, TO_END)] for anything else (a photo, a short video, a length the header does not give, a remote URI).

    :param path: a source path
    :param segment: part length in seconds (0: never cut)
    """
    import os

    from ..io.video import header_duration, is_video_name

    if segment <= 0 or not is_video_name(path) or not os.path.isfile(path):
        return [(0.0, TO_END)]
    duration = header_duration(path)
    if duration is None or duration <= segment:
        return [(0.0, TO_END)]
    starts = [k * segment for k in range(int(duration // segment) + 1) if k * segment < duration]
    return [(a, b if b < duration else TO_END) for a, b in zip(starts, starts[1:] + [duration])]


def work_items(plans: list[ShardPlan], segment: float = SEGMENT) -> list[WorkItem]:
    """Every task of `plans`, shard by shard, in path order."""
    return [WorkItem(s.path, p.shard_id, a, b)
            for p in plans for s in p.sources for a, b in video_spans(s.path, segment)]


def as_columns(items: list[WorkItem]) -> dict:
    """Tasks as the columns a worker takes: {"path": [...], "shard": [...], "start": [...], "end": [...]}."""
    return {"path": [it.path for it in items], "shard": [it.shard for it in items],
            "start": [it.start for it in items], "end": [it.end for it in items]}


def jobs(items: list[WorkItem], batch_size: int) -> list[dict]:
    """The worker calls of a job (as_columns of their tasks): up to `batch_size` photos of one shard together (their
    faces are embedded in one call), every video or part of a video alone (so the workers share a long video), never
    mixing shards (so finished shards are written early)."""
    from ..io.video import is_video_name

    out = []
    for _, group in groupby(items, key=lambda it: it.shard):
        tasks = list(group)
        photos = [it for it in tasks if not is_video_name(it.path)]
        out += [as_columns([it]) for it in tasks if is_video_name(it.path)]
        out += [as_columns(photos[i:i + batch_size]) for i in range(0, len(photos), batch_size)]
    return out
