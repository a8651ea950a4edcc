"""Naming faces by nearest-neighbour search in the gallery, with per-person aggregation.

Exact search (small galleries) scores every person by their best face over all their faces; approximate search
(HNSW, pgvector) fetches the 5k nearest faces and keeps each person's best among them.

Score (the one scale for --threshold, the API and the page): the cosine similarity between the face and the
nearest gallery face of the named person, in [-1, 1]. A face is named when its best person's score reaches the
threshold (calibrated by leave-one-out over the gallery unless given), else "unknown". Confidence: the best person's
share of exp(score / 0.05) over the people among the k nearest faces (how clearly it beats the runner-up).

Which index answers (exact numpy search, a usearch HNSW graph, or pgvector in PostgreSQL) is chosen once when the
matcher opens (live_index.py); each answers `search(queries, k)` with the same `Neighbours` record.

The matcher polls the store's change id at most every `refresh_s` seconds and applies only what changed, so every
process sees an enrolment within about a second of its commit.
"""
from __future__ import annotations

import threading
import time
from typing import Optional

import numpy as np

from ..config import UNKNOWN
from ..errors import GalleryError
from ..faces.identity import identity_name_of_gallery
from ..types import Match
from .calibrate import MAX_FACES, Calibration, calibrate_gallery
from .live_index import GalleryIndex, open_index
from .records import Neighbours
from .store import Store

TEMPERATURE = 0.05


class GalleryMatcher:
    """Names face embeddings from a gallery store; safe to share between threads."""

    def __init__(self, store: Store, threshold: Optional[float] = None, k: int = 10, index: str = "auto",
                 refresh_s: float = 1.0) -> None:
        """:param store: a gallery Store
        :param threshold: fixed cosine-similarity threshold (default: calibrated)
        :param k: people looked at per query
        :param index: "auto", "exact", "hnsw" (usearch) or "server" (pgvector, PostgreSQL): see live_index.py"""
        self.store, self.k, self.refresh_s = store, int(k), float(refresh_s)
        self.fixed_threshold = threshold
        self.calibration: Optional[Calibration] = None
        self._lock = threading.Lock()
        self._seen = -1
        self._polled = 0.0
        self._names: dict[int, str] = {}
        self._index: GalleryIndex = open_index(store, index)
        self.last_error: Optional[str] = None
        self._calibrated_size: Optional[tuple[int, int]] = None
        self.refresh(force=True)

    @property
    def mode(self) -> str:
        """Which index answers: "auto", "exact", "hnsw" (in this process) or "server" (pgvector)."""
        return self._index.kind

    @property
    def classes(self) -> list[str]:
        """The names of everyone in the gallery (as of the last refresh), in the order they were added."""
        self.refresh()
        return [name for _, name in sorted(self._names.items())]

    @property
    def threshold(self) -> float:
        if self.fixed_threshold is not None:
            return float(self.fixed_threshold)
        assert self.calibration is not None
        return self.calibration.threshold

    def refresh(self, force: bool = False) -> bool:
        """Bring the index up to date with the store if it changed; returns whether anything changed."""
        now = time.monotonic()
        if not force and now - self._polled < self.refresh_s:
            return False
        with self._lock:
            self._polled = now
            try:
                cid = self.store.change_id()
                if cid == self._seen:
                    return False
                self._names = self._index.refresh(self._seen, cid)
                self._seen = cid
                self._maybe_calibrate()
            except GalleryError as exc:
                if force:
                    raise
                self.last_error = str(exc)  # keep naming with what we have; the next poll retries
                return False
            self.last_error = None
            return True

    def _maybe_calibrate(self) -> None:
        """Recalibrate when the people changed or the faces grew or shrank by 5% since the last calibration."""
        if self.fixed_threshold is not None:
            return
        size = (len(self._names), len(self._index))
        last = self._calibrated_size
        if last is not None and size[0] == last[0] and abs(size[1] - last[1]) <= 0.05 * max(last[1], 1):
            return
        people, vecs = self.store.sample(MAX_FACES)
        self.calibration = calibrate_gallery(people, vecs, identity=identity_name_of_gallery(self.store.backbone),
                                             faces=size[1])
        self._calibrated_size = size

    def __len__(self) -> int:
        return len(self._index)

    def search(self, feats: np.ndarray) -> Neighbours:
        """The gallery faces that name the k people nearest to each face (row of `feats`)."""
        self.refresh()
        q = np.asarray(feats, np.float32)
        q = q / np.maximum(np.linalg.norm(q, axis=1, keepdims=True), 1e-8)
        with self._lock:
            return self._index.search(q, self.k)

    def person_scores(self, feats: np.ndarray, names: list[str]) -> np.ndarray:
        """Cosine similarity of each face (row of `feats`) to the nearest gallery face of the person named for it;
        -1 when that person is not in the gallery or not among the k people nearest to the face."""
        out = np.full(len(names), -1.0, np.float32)
        if len(names) == 0:
            return out
        found = self.search(feats)
        people, sims = found.people, found.sims
        ids = {name: pid for pid, name in self._names.items()}
        for i, name in enumerate(names):
            hit = people[i] == ids.get(name, -2)
            if hit.any():
                out[i] = float(sims[i][hit].max())
        return out

    def class_scores(self, feats: np.ndarray, classes: list[str]) -> np.ndarray:
        """(N, P) cosine similarity of each face to the nearest gallery face of each of `classes`. A person not among
        the k nearest people to a face gets the least similarity found for that face (no closer than that)."""
        out = np.full((len(feats), len(classes)), -1.0, np.float32)
        if len(feats) == 0 or not classes:
            return out
        found = self.search(feats)
        people, sims = found.people, found.sims
        floor = np.where(people >= 0, sims, np.inf).min(axis=1)
        ids = {name: pid for pid, name in self._names.items()}
        for j, name in enumerate(classes):
            hit = people == ids.get(name, -2)
            best = np.where(hit, sims, -np.inf).max(axis=1)
            out[:, j] = np.where(hit.any(axis=1), best, np.where(np.isfinite(floor), floor, -1.0))
        return out

    def match(self, feats: np.ndarray) -> list[Match]:
        """A Match per row of `feats` (N, D)."""
        if len(feats) == 0:
            return []
        found = self.search(feats)
        return [self._aggregate(p, s) for p, s in zip(found.people, found.sims)]

    def _aggregate(self, people: np.ndarray, sims: np.ndarray) -> Match:
        best: dict[int, float] = {}
        for pid, s in zip(people.tolist(), sims.tolist()):
            if pid >= 0 and pid in self._names and s > best.get(pid, -np.inf):
                best[pid] = s
        if not best:
            return Match(UNKNOWN, 0.0, -1.0, [])
        ranked = sorted(best.items(), key=lambda kv: -kv[1])
        scores = np.array([s for _, s in ranked])
        weights = np.exp((scores - scores[0]) / TEMPERATURE)
        top = [(self._names[pid], round(float(s), 4)) for pid, s in ranked[:3]]
        score = float(scores[0])
        name = self._names[ranked[0][0]] if score >= self.threshold else UNKNOWN
        return Match(name, round(float(weights[0] / weights.sum()), 4), round(score, 4), top)
