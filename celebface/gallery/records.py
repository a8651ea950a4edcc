"""Typed records of the people gallery."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

import numpy as np


@dataclass
class NewFace:
    """A face to store: its embedding and where it came from."""
    embedding: np.ndarray  # (D,) float32 unit vector
    file: str = ""  # source file name (no folders)
    sha256: str = ""  # of the photo's bytes
    box: Optional[list[float]] = None
    prob: Optional[float] = None
    source: str = "enrol"  # "enrol" | "training"


@dataclass
class Person:
    id: int
    name: str
    faces: int
    created: float
    updated: float
    metadata: dict = field(default_factory=dict)
    named: bool = True  # False: found by grouping, nobody has named them yet (gallery/people.py)
    sightings: int = 0  # archive faces that are theirs (people_overview counts them)

    def to_dict(self) -> dict:
        return {"name": self.name, "faces": self.faces, "created": self.created, "updated": self.updated,
                "metadata": self.metadata}

    def overview(self) -> dict:
        """The person as the people list shows it (id, name or None, enrolled faces, archive faces)."""
        return {"id": self.id, "name": self.name if self.named else None, "faces": self.faces,
                "sightings": self.sightings}


@dataclass
class Change:
    """One row of the history: who changed what, when, and whether it was undone."""
    id: int
    at: float
    who: str
    action: str  # add | replace | forget | rename | import | undo | purge
    name: str
    summary: str
    undone_by: Optional[int] = None

    def to_dict(self) -> dict:
        return {"id": self.id, "at": self.at, "who": self.who, "action": self.action, "name": self.name,
                "summary": self.summary, "undone_by": self.undone_by}


@dataclass
class Delta:
    """What changed in the live faces since a change id: for refreshing a search index without reloading it."""
    change_id: int
    added_ids: np.ndarray  # (A,) int64
    added_people: np.ndarray  # (A,) int64
    added_vecs: np.ndarray  # (A, D) float32
    removed_ids: np.ndarray  # (R,) int64
    names: dict[int, str]  # person id -> name, all live people


@dataclass(frozen=True)
class Neighbours:
    """What every gallery search answers: for each query (row), gallery faces nearest first, as the person of each
    and its cosine similarity; rows are padded with person -1 and similarity -inf where fewer were found."""
    people: np.ndarray  # (Q, n) int64 person ids
    sims: np.ndarray  # (Q, n) float32 cosine similarities
    faces: np.ndarray  # (Q, n) int64 face ids; -1 where the index answers per person (exact search)

    @classmethod
    def none(cls, q: int, k: int) -> "Neighbours":
        """An answer with nothing found: (q, k) of -1 / -inf."""
        return cls(np.full((q, k), -1, np.int64), np.full((q, k), -np.inf, np.float32), np.full((q, k), -1, np.int64))
