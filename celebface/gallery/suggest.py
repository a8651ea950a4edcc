"""What to look at next in the people: pairs of people likely to be one, faces likely given to the wrong person
(`check`'s mislabel rule, data/mislabels.py, with people for folders), and unnamed people worth naming first.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

import numpy as np

from .people import GalleryFaces

#: Median cosine distance between two people's faces below which they are suggested as one (dlib vectors: one
#: person's faces sit at 0.04-0.09 from each other, two people's mostly above 0.12; data/mislabels.py).
PAIR_DISTANCE = 0.12
#: Centroid pairs looked at closely, per person.
PAIR_CANDIDATES = 5


@dataclass(frozen=True)
class PairSuggestion:
    """Two people whose faces are alike: perhaps one person (median cosine distance between their faces)."""
    a: int
    b: int
    distance: float


@dataclass(frozen=True)
class FaceSuggestion:
    """A face that fits its person badly (median distance to their other faces), and the person it fits better."""
    sighting: int
    person: int
    distance_own: float
    better: Optional[int]
    distance_better: Optional[float]


@dataclass
class Suggestions:
    """Pairs of people likely one (most alike first), faces likely misassigned, unnamed people by faces."""
    same_person: list[PairSuggestion] = field(default_factory=list)
    misassigned: list[FaceSuggestion] = field(default_factory=list)
    to_name: list[tuple[int, int]] = field(default_factory=list)  # (person id, faces), most faces first


def _faces_of(g: GalleryFaces) -> dict[int, np.ndarray]:
    out: dict[int, list] = {}
    for p, v in zip(g.person, g.vecs):
        if p >= 0:
            out.setdefault(int(p), []).append(v)
    for p, v in zip(g.enrolled_people, g.enrolled_vecs):
        out.setdefault(int(p), []).append(v)
    return {p: np.stack(v) for p, v in out.items()}


def same_person_pairs(g: GalleryFaces, max_distance: float = PAIR_DISTANCE) -> list[PairSuggestion]:
    """Pairs of people likely one, most alike first: never two people seen together in one photo, nor two the user
    kept apart.

    :param g: the gallery's faces
    :param max_distance: the largest median cosine distance suggested
    """
    faces = _faces_of(g)
    pids = sorted(faces)
    if len(pids) < 2:
        return []
    cents = np.stack([faces[p].mean(0) for p in pids])
    cents /= np.linalg.norm(cents, axis=1, keepdims=True)
    sims = cents @ cents.T
    np.fill_diagonal(sims, -np.inf)
    together = _seen_together(g)
    pairs = set()
    for i in range(len(pids)):
        for j in np.argsort(-sims[i])[:PAIR_CANDIDATES]:
            if int(j) != i:
                pairs.add(tuple(sorted((pids[i], pids[int(j)]))))
    out = []
    for a, b in pairs:
        if (a, b) in g.apart or (a, b) in together:
            continue
        d = float(np.median(1.0 - faces[a] @ faces[b].T))
        if d <= max_distance:
            out.append(PairSuggestion(a, b, round(d, 4)))
    return sorted(out, key=lambda p: (p.distance, p.a, p.b))


def _seen_together(g: GalleryFaces) -> set[tuple[int, int]]:
    """Pairs of people with faces in one photo (so two people)."""
    by_photo: dict[str, set[int]] = {}
    for photo, p in zip(g.photos, g.person):
        if p >= 0:
            by_photo.setdefault(photo, set()).add(int(p))
    return {(a, b) for ps in by_photo.values() if len(ps) > 1 for a in ps for b in ps if a < b}


def misassigned_faces(g: GalleryFaces, identity: str = "dlib") -> list[FaceSuggestion]:
    """Faces that fit their person badly, by `check`'s mislabel rule (data/mislabels.py, its dlib distances carried to
    `identity`'s vectors); faces the user placed are left out.

    :param g: the gallery's faces
    :param identity: the identity that made the gallery's vectors
    """
    from ..data.mislabels import MISLABEL_DISTANCE, OTHER_DISTANCE, find_mislabels
    from ..faces.identity_stats import same_strictness

    idx = np.nonzero(g.person >= 0)[0]
    if not len(idx):
        return []
    persons = [str(int(p)) for p in g.person[idx]]
    hits = find_mislabels(g.vecs[idx], np.ones(len(idx), bool), persons, {},
                          same_strictness(MISLABEL_DISTANCE, "dlib", identity),
                          same_strictness(OTHER_DISTANCE, "dlib", identity))
    return [FaceSuggestion(int(g.ids[idx[h.index]]), int(g.person[idx[h.index]]), h.distance_own,
                           None if h.best_other is None else int(h.best_other), h.distance_other)
            for h in hits if not g.pinned[idx[h.index]]]


def suggest(g: GalleryFaces, max_distance: Optional[float] = None, identity: str = "dlib") -> Suggestions:
    """Everything worth a look, each list most useful first.

    :param g: the gallery's faces (PeopleSql.gallery_faces)
    :param max_distance: the largest median cosine distance of a suggested pair (default PAIR_DISTANCE, a dlib
        distance, carried to `identity`'s vectors at the same false-accept rate)
    :param identity: the identity that made the gallery's vectors
    """
    from ..faces.identity_stats import same_strictness

    if max_distance is None:
        max_distance = same_strictness(PAIR_DISTANCE, "dlib", identity)
    counts = np.bincount(g.person[g.person >= 0]) if (g.person >= 0).any() else np.zeros(0, np.int64)
    unnamed = [(p, int(counts[p])) for p, named in g.named.items() if not named and p < len(counts) and counts[p]]
    return Suggestions(same_person_pairs(g, max_distance), misassigned_faces(g, identity),
                       sorted(unnamed, key=lambda t: (-t[1], t[0])))


def suggest_for(store) -> Suggestions:
    """`suggest` on an open gallery's faces, at the strictness of the identity that made its vectors.

    :param store: an open gallery (gallery.open_gallery)
    """
    from ..faces.identity import identity_name_of_gallery

    return suggest(store.gallery_faces(), identity=identity_name_of_gallery(store.backbone))
