"""Linking faces across sampled video frames into tracks, naming each track once, and merging a person's
appearances across short gaps.

A face joins the track whose last box overlaps it and whose mean embedding it resembles (or, after a jump,
whose embedding it resembles strongly); the pairing in each frame is an optimal assignment (scipy). A track
whose faces confidently name someone else never takes a face named differently. Each track gets one identity
by a vote of all its faces, each face's vote gated by the recogniser's threshold as for photos, so a stranger
stays "unknown" and a name does not flicker from frame to frame.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Iterable, Optional, Sequence

import numpy as np

from ..config import UNKNOWN


@dataclass
class FaceObservation:
    """One face in one sampled frame, as the recogniser saw it."""

    time: float
    box: list[float]
    embedding: np.ndarray  # unit vector used to link faces
    name: str  # the gated name for this face alone ("unknown" below the threshold)
    confidence: float
    score: float
    embedded_at: float = -1.0  # time of the frame whose crop gave `embedding` (earlier if carried over: video_reuse)
    look: Optional[np.ndarray] = None  # that crop's small grey thumbnail (video_reuse.look)


@dataclass
class LinkOptions:
    """When a face may join a track.

    :param max_gap: seconds a track may go unseen and still be continued.
    :param min_iou: box overlap that counts as "the same place".
    The similarities are cosines of dlib's face embeddings, flip-averaged, on the scale of dlib's pair threshold
    (faces/identity_stats.py FALLBACK_THRESHOLD).

    :param min_sim: embedding similarity needed together with the overlap.
    :param jump_sim: embedding similarity that links a face anywhere in the frame (the person moved or the
        camera cut back).
    """

    max_gap: float = 1.0
    min_iou: float = 0.2
    min_sim: float = 0.91
    jump_sim: float = 0.94


@dataclass
class Track:
    """A run of one person's face over sampled frames."""

    faces: list[FaceObservation] = field(default_factory=list)
    _sum: Optional[np.ndarray] = None

    def add(self, face: FaceObservation) -> None:
        self.faces.append(face)
        self._sum = face.embedding.astype(np.float64) if self._sum is None else self._sum + face.embedding

    @property
    def start(self) -> float:
        return self.faces[0].time

    @property
    def end(self) -> float:
        return self.faces[-1].time

    @property
    def box(self) -> list[float]:
        return self.faces[-1].box

    @property
    def mean_embedding(self) -> np.ndarray:
        assert self._sum is not None
        return self._sum / max(float(np.linalg.norm(self._sum)), 1e-8)

    def leading_name(self) -> str:
        """The name most of the track's faces carry so far (unknown if none is known)."""
        votes = Counter(f.name for f in self.faces if f.name != UNKNOWN)
        return votes.most_common(1)[0][0] if votes else UNKNOWN


def iou(a: Sequence[float], b: Sequence[float]) -> float:
    """Intersection over union of two [x1, y1, x2, y2] boxes.

    :param a: first box.
    :param b: second box.
    """
    iw = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    ih = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = iw * ih
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def _link_score(track: Track, face: FaceObservation, opts: LinkOptions) -> Optional[float]:
    """How well a face continues a track (higher is better), None if it must not."""
    sim = float(track.mean_embedding @ face.embedding)
    lead = track.leading_name()
    if lead != UNKNOWN and face.name != UNKNOWN and face.name != lead and sim < opts.jump_sim:
        return None  # named someone else, and does not look much like the track: a cut, not a flicker
    overlap = iou(track.box, face.box)
    if (overlap >= opts.min_iou and sim >= opts.min_sim) or sim >= opts.jump_sim:
        return sim + overlap
    return None


class Tracker:
    """Feed it the faces of each sampled frame in time order; it hands back tracks as they end.

    :param opts: linking options.
    """

    def __init__(self, opts: Optional[LinkOptions] = None) -> None:
        self.opts = opts or LinkOptions()
        self.active: list[Track] = []

    def update(self, time: float, faces: Sequence[FaceObservation]) -> list[Track]:
        """Add one frame's faces; returns the tracks that ended (unseen for longer than max_gap).

        :param time: the frame's time in seconds.
        :param faces: the faces found in it.
        """
        ended = [t for t in self.active if time - t.end > self.opts.max_gap + 1e-6]
        self.active = [t for t in self.active if t not in ended]
        pairs = self._assign(faces)
        for ti, fi in pairs:
            self.active[ti].add(faces[fi])
        taken = {fi for _, fi in pairs}
        for fi, face in enumerate(faces):
            if fi not in taken:
                track = Track()
                track.add(face)
                self.active.append(track)
        return ended

    def _assign(self, faces: Sequence[FaceObservation]) -> list[tuple[int, int]]:
        if not self.active or not faces:
            return []
        from scipy.optimize import linear_sum_assignment

        forbidden = -1e6
        gain = np.full((len(self.active), len(faces)), forbidden)
        for ti, track in enumerate(self.active):
            for fi, face in enumerate(faces):
                s = _link_score(track, face, self.opts)
                if s is not None:
                    gain[ti, fi] = s
        rows, cols = linear_sum_assignment(-gain)
        return [(int(r), int(c)) for r, c in zip(rows, cols) if gain[r, c] > forbidden]

    def finish(self) -> list[Track]:
        """The tracks still open at the end of the video."""
        ended, self.active = self.active, []
        return ended


@dataclass
class TrackIdentity:
    """A track's one name, decided from all its faces."""

    name: str
    confidence: float
    best: FaceObservation  # the face that looks most like the named person (or the most confident one)


def name_track(track: Track) -> TrackIdentity:
    """One identity for a whole track: the name most of its faces were given (ties: higher mean score).

    Each face's vote is already gated by the recogniser's threshold, so a track of a stranger, whose faces
    fall mostly below it, stays unknown.

    :param track: a finished track.
    """
    votes = Counter(f.name for f in track.faces)
    name = max(votes, key=lambda n: (votes[n], np.mean([f.score for f in track.faces if f.name == n])))
    voters = [f for f in track.faces if f.name == name]
    best = max(voters, key=lambda f: (f.score, (f.box[2] - f.box[0]) * (f.box[3] - f.box[1])))
    confidence = float(np.mean([f.confidence for f in voters])) * len(voters) / len(track.faces)
    return TrackIdentity(name=name, confidence=round(confidence, 4), best=best)


@dataclass
class Appearance:
    """A span of time in which one person is on screen."""

    start: float
    end: float
    frames: int
    best_box: list[float]
    best_time: float
    best_score: float
    confidence_sum: float  # sum of per-frame confidences, to average over merged spans


def merge_appearances(spans: Iterable[Appearance], max_gap: float = 1.0) -> list[Appearance]:
    """One person's appearances joined where they overlap or are at most `max_gap` seconds apart.

    :param spans: the person's appearances (one per track), in any order.
    :param max_gap: gap in seconds that still counts as one appearance.
    """
    merged: list[Appearance] = []
    for s in sorted(spans, key=lambda a: (a.start, a.end)):
        if merged and s.start - merged[-1].end <= max_gap + 1e-6:
            m = merged[-1]
            better = s.best_score > m.best_score
            merged[-1] = Appearance(start=m.start, end=max(m.end, s.end), frames=m.frames + s.frames,
                                    best_box=s.best_box if better else m.best_box,
                                    best_time=s.best_time if better else m.best_time,
                                    best_score=max(s.best_score, m.best_score),
                                    confidence_sum=m.confidence_sum + s.confidence_sum)
        else:
            merged.append(s)
    return merged
