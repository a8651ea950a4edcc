"""The search index a GalleryMatcher asks, chosen once when it opens: the gallery's faces copied into this process
(exact numpy search, or a usearch HNSW graph saved beside the gallery), or PostgreSQL's own pgvector index.

Each is kept in step with the store by `refresh` and answers `search(queries, k)` with `Neighbours`: the faces
that name the k people nearest to each query.
"""
from __future__ import annotations

from typing import Optional, Protocol, Union

import numpy as np

from .index import OVERFETCH, ExactIndex, HnswIndex
from .records import Delta, Neighbours
from .store import Store

#: Below this many faces exact search is as fast as HNSW (bench/gallery.md); "auto" switches at this size.
HNSW_MIN = 50_000
#: HNSW graphs this large are saved beside the gallery for the next process.
SAVE_MIN = 20_000
#: The ways to search that `open_index` knows.
KINDS = ("auto", "exact", "hnsw", "server")


class GalleryIndex(Protocol):
    """What the matcher needs from a search index."""
    kind: str

    def __len__(self) -> int: ...
    def refresh(self, since: int, change_id: int) -> dict[int, str]: ...
    def search(self, queries: np.ndarray, k: int) -> Neighbours: ...


class LocalIndex:
    """The gallery's faces in this process: exact search ("exact"), an HNSW graph ("hnsw"), or exact search that
    becomes an HNSW graph once the gallery holds HNSW_MIN faces ("auto"). Updated from the store's Deltas."""

    def __init__(self, store: Store, kind: str = "auto") -> None:
        """:param store: the gallery
        :param kind: "auto", "exact" or "hnsw\""""
        self.store, self.kind = store, kind
        self.index: Optional[Union[ExactIndex, HnswIndex]] = None

    def __len__(self) -> int:
        return len(self.index) if self.index is not None else 0

    def refresh(self, since: int, change_id: int) -> dict[int, str]:
        """Apply the changes after `since` (everything on first use); returns every live person's name by id."""
        if self.index is None:
            return self._open(change_id)
        return self._apply(self.store.changes_since(since))

    def search(self, queries: np.ndarray, k: int) -> Neighbours:
        """The faces that name the k people nearest to each query."""
        return self.index.search(queries, k) if self.index is not None else Neighbours.none(len(queries), k)

    def _open(self, change_id: int) -> dict[int, str]:
        """First load: a saved HNSW graph of this gallery plus what changed since, else a build from scratch (saved
        afterwards when large, so the next process starts in seconds)."""
        folder = self.store.index_dir() if self.kind != "exact" else None
        cached = HnswIndex.load(folder, self.store.gallery_id()) if folder is not None else None
        if cached is not None and cached[1] <= change_id:
            self.index = cached[0]
            return self._apply(self.store.changes_since(cached[1]))
        names = self._apply(self.store.changes_since(0))
        if folder is not None and isinstance(self.index, HnswIndex) and len(self.index) >= SAVE_MIN:
            try:
                self.index.save(folder, f"{self.store.gallery_id()}:{change_id}")
            except OSError:
                pass  # a read-only model folder: every process builds its own
        return names

    def _apply(self, delta: Delta) -> dict[int, str]:
        if self.index is None:
            n = len(delta.added_ids)
            hnsw = self.kind == "hnsw" or (self.kind == "auto" and n >= HNSW_MIN)
            self.index = HnswIndex(self.store.dim) if hnsw else ExactIndex(self.store.dim)
        self.index.update(delta)
        if self.kind == "auto" and isinstance(self.index, ExactIndex) and len(self.index) >= HNSW_MIN:
            self.index = None  # grew past the exact range: rebuild as HNSW from the whole gallery
            return self._apply(self.store.changes_since(0))
        return delta.names


class ServerIndex:
    """The store's own search (pgvector's HNSW index in PostgreSQL): nothing is copied into this process."""
    kind = "server"

    def __init__(self, store: Store) -> None:
        """:param store: the gallery (a PostgresStore)"""
        self.store = store

    def __len__(self) -> int:
        return self.store.count_faces()

    def refresh(self, since: int, change_id: int) -> dict[int, str]:
        """Nothing to copy: the names of the live people."""
        return self.store.names()

    def search(self, queries: np.ndarray, k: int) -> Neighbours:
        """The k * OVERFETCH faces nearest to each query, found by the server: room for k people."""
        return self.store.search(queries, k * OVERFETCH)


def open_index(store: Store, kind: str = "auto") -> GalleryIndex:
    """The index that answers a matcher's searches over `store`.

    :param store: the gallery
    :param kind: "auto" (pgvector for PostgreSQL, else exact search growing into HNSW), "exact", "hnsw" (usearch)
        or "server" (the store's own search: pgvector for PostgreSQL)
    """
    if kind not in KINDS:
        raise ValueError(f"unknown gallery index {kind!r}; use one of {', '.join(KINDS)}")
    if kind == "server" or (kind == "auto" and store.kind == "postgresql"):
        return ServerIndex(store)
    return LocalIndex(store, kind)
