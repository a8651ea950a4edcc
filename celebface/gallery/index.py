"""In-process nearest-neighbour search over the gallery's faces: exact (numpy) or approximate (usearch HNSW).

Both keep face ids and the person of each face, and take `Delta`s (faces added/restored and removed since the last
refresh), so an enrolment costs O(faces changed), not a reload. Scores are cosine similarities of unit vectors.
Both answer `search(queries, k)` (the faces that name the k nearest people) and `nearest_faces(queries, k)` (the k
nearest faces) with `Neighbours`.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Optional

import numpy as np

from .records import Delta, Neighbours


CHUNK = 2048
#: HNSW candidate list per query: recall@1 against exact search at 1M faces 0.973 at 64, 0.990 at 128, 1.000 at 256
#: (p95 4.6 ms; bench/gallery.md)
EXPANSION_SEARCH = 256
#: The graph's first faces are added one thread at a time (see HnswIndex._add).
SERIAL_ADD = 4096
#: Approximate searches fetch this many faces per person asked for, so that one person's many faces leave room
#: for others (HNSW here, pgvector in PostgreSQL).
OVERFETCH = 5


def _one_query(mat: np.ndarray, q: np.ndarray) -> np.ndarray:
    """mat @ q in row chunks: small products stay on one BLAS thread, which on a busy CPU is 5-100x faster than a
    multi-threaded product (bench/gallery.md)."""
    if len(mat) <= CHUNK:
        return mat @ q
    return np.concatenate([mat[i:i + CHUNK] @ q for i in range(0, len(mat), CHUNK)])


class ExactIndex:
    """Brute-force search: one matrix product per batch of queries."""
    kind = "exact"

    def __init__(self, dim: int) -> None:
        self.dim = dim
        self.ids = np.zeros(0, np.int64)
        self.people = np.zeros(0, np.int64)
        self.mat = np.zeros((0, dim), np.float32)
        self._groups: Optional[tuple[np.ndarray, np.ndarray, np.ndarray]] = None

    def __len__(self) -> int:
        return len(self.ids)

    def update(self, delta: Delta) -> None:
        """Apply removals and (re)additions."""
        self._groups = None
        gone = np.concatenate([delta.removed_ids, delta.added_ids])
        if len(gone) and len(self.ids):
            keep = ~np.isin(self.ids, gone)
            self.ids, self.people, self.mat = self.ids[keep], self.people[keep], self.mat[keep]
        if len(delta.added_ids):
            self.ids = np.concatenate([self.ids, delta.added_ids])
            self.people = np.concatenate([self.people, delta.added_people])
            self.mat = np.concatenate([self.mat, delta.added_vecs.astype(np.float32)])

    def _segments(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Face order grouped by person, each person's first position, and the person of each group."""
        if self._groups is None:
            order = np.argsort(self.people, kind="stable")
            grouped = self.people[order]
            starts = np.flatnonzero(np.r_[True, grouped[1:] != grouped[:-1]])
            self._groups = (order, starts, grouped[starts])
        return self._groups

    def search(self, queries: np.ndarray, k: int) -> Neighbours:
        """The k nearest people of each query, each with their best similarity over ALL their faces, best person
        first (exact aggregation: many near-identical faces of one person cannot crowd another out of the top k).

        :param queries: (Q, D) unit vectors
        :param k: people per query
        """
        q = len(queries)
        found = Neighbours.none(q, k)
        people, sims = found.people, found.sims
        if len(self.ids) == 0 or q == 0:
            return found
        order, starts, who = self._segments()
        qs = queries.astype(np.float32)
        for i in range(q):
            best = np.maximum.reduceat(_one_query(self.mat, qs[i])[order], starts)
            kk = min(k, len(best))
            top = np.argpartition(-best, kk - 1)[:kk]
            top = top[np.argsort(-best[top])]
            people[i, :kk], sims[i, :kk] = who[top], best[top]
        return found

    def nearest_faces(self, queries: np.ndarray, k: int) -> Neighbours:
        """The k nearest faces of each query, best first."""
        q = len(queries)
        found = Neighbours.none(q, k)
        ids, people, sims = found.faces, found.people, found.sims
        if len(self.ids) == 0 or q == 0:
            return found
        qs = queries.astype(np.float32)
        s = _one_query(self.mat, qs[0])[None] if q == 1 else qs @ self.mat.T
        kk = min(k, s.shape[1])
        part = np.argpartition(-s, kk - 1, axis=1)[:, :kk]
        order = np.take_along_axis(part, np.argsort(-np.take_along_axis(s, part, 1), axis=1), 1)
        ids[:, :kk], people[:, :kk] = self.ids[order], self.people[order]
        sims[:, :kk] = np.take_along_axis(s, order, 1)
        return found


class HnswIndex:
    """usearch's HNSW graph (cosine), keyed by face id; saved beside the gallery so that a large one is built once,
    not by every process that opens it."""
    kind = "hnsw"

    def __init__(self, dim: int, connectivity: int = 16, expansion_add: int = 128,
                 expansion_search: int = EXPANSION_SEARCH) -> None:
        from usearch.index import Index

        self.dim = dim
        self.index = Index(ndim=dim, metric="cos", dtype="f32", connectivity=connectivity,
                           expansion_add=expansion_add, expansion_search=expansion_search)
        self.person_of = np.full(1024, -1, np.int64)  # face id -> person id

    def __len__(self) -> int:
        return len(self.index)

    def _add(self, keys: np.ndarray, vecs: np.ndarray) -> None:
        """Add to the graph: one thread while it is small (usearch's parallel insertion into a graph of a few dozen
        faces missed the true nearest face in 12 of 300 trials here; one thread: none), then all cores."""
        first = max(0, min(len(keys), SERIAL_ADD - len(self.index)))
        if first:
            self.index.add(keys[:first], vecs[:first], threads=1)
        if first < len(keys):
            self.index.add(keys[first:], vecs[first:], threads=0)

    def update(self, delta: Delta) -> None:
        """Apply removals and (re)additions."""
        gone = np.concatenate([delta.removed_ids, delta.added_ids]).astype(np.uint64)
        if len(gone) and len(self.index):
            present = gone[np.asarray(self.index.contains(gone), bool)]
            if len(present):
                self.index.remove(present)
        if len(delta.added_ids):
            top = int(delta.added_ids.max()) + 1
            if top > len(self.person_of):
                grown = np.full(max(top, 2 * len(self.person_of)), -1, np.int64)
                grown[: len(self.person_of)] = self.person_of
                self.person_of = grown
            self.person_of[delta.added_ids] = delta.added_people
            self._add(delta.added_ids.astype(np.uint64), delta.added_vecs.astype(np.float32))

    def search(self, queries: np.ndarray, k: int) -> Neighbours:
        """The (approximately) nearest k * OVERFETCH faces of each query: room for k people."""
        return self.nearest_faces(queries, k * OVERFETCH)

    def nearest_faces(self, queries: np.ndarray, k: int) -> Neighbours:
        """The (approximately) k nearest faces of each query, best first."""
        q = len(queries)
        found = Neighbours.none(q, k)
        ids, people, sims = found.faces, found.people, found.sims
        if len(self.index) == 0 or q == 0:
            return found
        res = self.index.search(queries.astype(np.float32), k)
        keys = np.asarray(res.keys).reshape(q, -1).astype(np.int64)
        dist = np.asarray(res.distances).reshape(q, -1)
        counts = np.asarray(res.counts).reshape(q) if hasattr(res, "counts") else [keys.shape[1]]
        for i in range(q):
            n = int(counts[i])
            ids[i, :n], people[i, :n] = keys[i, :n], self.person_of[keys[i, :n]]
            sims[i, :n] = 1.0 - dist[i, :n]
        return found

    def save(self, folder: Path, stamp: str) -> None:
        """Write the graph and the face->person map into `folder`, each file replaced atomically; `stamp` says
        which gallery and change id it reflects."""
        folder.mkdir(parents=True, exist_ok=True)
        tag = f".tmp{os.getpid()}"
        self.index.save(str(folder / f"graph.usearch{tag}"))
        np.save(folder / f"people.npy{tag}.npy", self.person_of)
        (folder / f"stamp{tag}").write_text(stamp)
        (folder / "stamp").unlink(missing_ok=True)  # no stamp while the pair is half-replaced
        os.replace(folder / f"graph.usearch{tag}", folder / "graph.usearch")
        os.replace(folder / f"people.npy{tag}.npy", folder / "people.npy")
        os.replace(folder / f"stamp{tag}", folder / "stamp")

    @classmethod
    def load(cls, folder: Path, gallery_id: str) -> Optional[tuple["HnswIndex", int]]:
        """A saved index of this gallery and the change id it reflects, or None if there is none or it is foreign."""
        try:
            stamp = (folder / "stamp").read_text()
            gid, change = stamp.rsplit(":", 1)
            if gid != gallery_id:
                return None
            from usearch.index import Index

            self = cls.__new__(cls)
            self.dim = None  # set below from the graph
            self.index = Index.restore(str(folder / "graph.usearch"))
            self.index.expansion_search = EXPANSION_SEARCH  # the saved graph may carry an older setting
            self.person_of = np.load(folder / "people.npy")
            self.dim = int(self.index.ndim)
            return self, int(change)
        except (OSError, ValueError, RuntimeError):
            return None
