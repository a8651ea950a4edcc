"""Grouping archive faces into people, a little at a time: each run looks only at the faces nobody has yet.

A run (`group_faces`) first attaches each such face to the known person its nearest known faces clearly agree on
(`attach`), then clusters the faces still left (data/clustering.py) and makes each cluster of at least
`min_faces` faces a new unnamed person (`new_groups`). Faces left over wait for a later run, when more faces of
their person may have come. People already found are never regrouped, so nothing the user corrected is undone; a
full regroup (`full=True`) groups every face again, except those the user placed (pinned), and keeps each group's
person id where it can.

Constraints every run respects (gallery/people.py records them):
- two faces of one photo (or one video frame) are never one person;
- a pinned face stays where the user put it, and counts as a known face of that person;
- a face marked "not this person" never goes to that person.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Optional

import numpy as np

from ..faces.identity import identity_name_of_gallery
from .people import Assignment, GalleryFaces

#: Known faces each new face looks at.
ATTACH_K = 7


@dataclass(frozen=True)
class GroupingSettings:
    """How sure a run must be (cosine distances of the gallery's identity vectors; dlib's by default).

    attach_distance: a known face this close votes for its person; attach_votes of them (or all of a smaller
    person's) must vote, and at least `margin` times as many as for any other person.
    cluster_distance: the radius (Chinese whispers) or cut (agglomerative) of the clustering of the faces left.
    min_faces: faces that must agree to make a new person.
    """
    attach_distance: float = 0.08
    attach_votes: int = 2
    margin: float = 2.0
    cluster_method: str = "chinese_whispers"
    cluster_distance: float = 0.085
    min_faces: int = 3


def _known(g: GalleryFaces, free: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The known faces: sightings with a person that this run does not place again, and enrolled faces.
    Returns (people, photo keys ('' for enrolled faces), vectors)."""
    keep = (g.person >= 0) & ~free
    return (np.concatenate([g.person[keep], g.enrolled_people]),
            np.concatenate([g.photos[keep], np.full(len(g.enrolled_people), "", object)]),
            np.concatenate([g.vecs[keep], g.enrolled_vecs]).astype(np.float32))


def attach(g: GalleryFaces, free: np.ndarray, s: GroupingSettings) -> dict[int, int]:
    """Faces (indices into g, among `free`) that clearly belong to a known person -> that person's id.

    :param g: the gallery's faces
    :param free: (N,) bool, the faces this run may place
    :param s: the settings
    """
    people, photos, vecs = _known(g, free)
    idx = np.nonzero(free)[0]
    if not len(people) or not len(idx):
        return {}
    size = Counter(people.tolist())
    size.update(g.sizes or {})  # faces of each person beyond those read (PeopleSql.grouping_faces)
    taken = {(p, int(q)) for p, q in zip(photos, people) if p}  # a person already in that photo
    proposals = []
    k = min(ATTACH_K, len(people))
    for start in range(0, len(idx), 512):
        part = idx[start:start + 512]
        sims = g.vecs[part] @ vecs.T
        top = np.argpartition(-sims, k - 1, axis=1)[:, :k]
        for row, i in enumerate(part):
            near = top[row][1.0 - sims[row, top[row]] <= s.attach_distance]
            votes = Counter(int(people[j]) for j in near if (int(g.ids[i]), int(people[j])) not in g.not_person
                            and (g.photos[i], int(people[j])) not in taken)
            if not votes:
                continue
            (best, n), *rest = votes.most_common(2) + [(None, 0)]
            runner = rest[0][1]
            if n >= min(s.attach_votes, size[best]) and n >= s.margin * runner:
                proposals.append((float(sims[row, near].mean()), int(i), best))
    return _one_per_photo(g, proposals, taken)


def _one_per_photo(g: GalleryFaces, proposals: list, taken: set) -> dict[int, int]:
    """Accept proposals best first, never two faces of one photo for one person."""
    out: dict[int, int] = {}
    for _, i, pid in sorted(proposals, reverse=True):
        if (g.photos[i], pid) not in taken:
            out[i] = pid
            taken.add((g.photos[i], pid))
    return out


def new_groups(g: GalleryFaces, left: np.ndarray, s: GroupingSettings) -> list[list[int]]:
    """Clusters of the faces `left` (indices into g) with at least min_faces faces and at most one face per photo:
    the new people (lists of indices).

    :param g: the gallery's faces
    :param left: indices of the faces no known person took
    :param s: the settings
    """
    from ..data.clustering import cluster_vectors

    if len(left) < s.min_faces:
        return []
    labels = cluster_vectors(g.vecs[left], s.cluster_method, min_faces=s.min_faces, distance=s.cluster_distance)
    groups = []
    for c in range(int(labels.max(initial=-1)) + 1):
        members = left[labels == c]
        members = _drop_photo_mates(g, members)
        if len(members) >= s.min_faces:
            groups.append(sorted(members.tolist()))
    return groups


def _drop_photo_mates(g: GalleryFaces, members: np.ndarray) -> np.ndarray:
    """Of several faces of one photo in a cluster, keep the one most like the rest of the cluster."""
    photos = g.photos[members]
    if len(set(photos.tolist())) == len(members):
        return members
    centre = g.vecs[members].mean(0)
    fit = g.vecs[members] @ centre
    keep = {}
    for j, p in enumerate(photos):
        if p not in keep or fit[j] > fit[keep[p]]:
            keep[p] = j
    return members[sorted(keep.values())]


def _stable_ids(g: GalleryFaces, groups: list[list[int]], known: set[int]) -> tuple[dict[int, int], list[list[int]]]:
    """A full regroup's groups that carry on an earlier person (the one most of its faces had, if no other group and
    no known face already claims them): index -> person id; the other groups stay new."""
    to_people: dict[int, int] = {}
    new: list[list[int]] = []
    used: set[int] = set()
    for grp in sorted(groups, key=len, reverse=True):
        old = Counter(int(g.person[i]) for i in grp if g.person[i] >= 0).most_common(1)
        pid = old[0][0] if old else -1
        banned = any((int(g.ids[i]), pid) in g.not_person for i in grp)
        if pid >= 0 and pid not in used and pid not in known and not banned:
            used.add(pid)
            to_people.update({i: pid for i in grp})
        else:
            new.append(grp)
    return to_people, new


def group_faces(g: GalleryFaces, s: Optional[GroupingSettings] = None, full: bool = False) -> Assignment:
    """One grouping run over the gallery's faces: what to write (people.PeopleSql.apply_assignment).

    :param g: the gallery's faces, people and constraints (PeopleSql.gallery_faces)
    :param s: the settings (default GroupingSettings())
    :param full: group every face again but the pinned ones (else only the faces nobody has)
    """
    s = s or GroupingSettings()
    free = ~g.pinned & ((g.person < 0) | full)
    attached = attach(g, free, s)
    left = np.array([i for i in np.nonzero(free)[0] if int(i) not in attached], np.int64)
    groups = new_groups(g, left, s)
    stable: dict[int, int] = {}
    if full:
        stable, groups = _stable_ids(g, groups, set(_known(g, free)[0].tolist()))
    placed = {**attached, **stable}
    ids = g.ids
    to_people = {int(ids[i]): int(p) for i, p in placed.items() if int(g.person[i]) != int(p)}
    in_groups = {i for grp in groups for i in grp}
    unassign = [int(ids[i]) for i in np.nonzero(free)[0]
                if g.person[i] >= 0 and int(i) not in placed and int(i) not in in_groups] if full else []
    moved_out = [int(ids[i]) for grp in groups for i in grp if g.person[i] >= 0]
    return Assignment(to_people, [[int(ids[i]) for i in grp] for grp in groups], unassign + moved_out)


@dataclass(frozen=True)
class PersonMatch:
    """The person a face is: their id, and the similarity of the most similar of their faces (cosine)."""
    person_id: int
    similarity: float


def who_is(store, vecs: np.ndarray, settings: Optional[GroupingSettings] = None) -> list[Optional[PersonMatch]]:
    """Who each face of one photo is: the person a grouping run would give it to (the same vote among its nearest
    known faces, attach()), or None when nobody clearly is. Writes nothing.

    :param store: an open gallery (gallery.open_gallery)
    :param vecs: (Q, dim) the photo's faces' unit vectors of the gallery's identity (two of them are never one person)
    :param settings: how sure (default: the grouping runs' settings for the gallery's identity)
    """
    s = settings or settings_for(identity_name_of_gallery(store.backbone))
    vecs = np.asarray(vecs, np.float32).reshape(-1, store.dim)
    known = store.known_faces_near(vecs, ATTACH_K, s.attach_distance)
    n = len(vecs)
    g = GalleryFaces(np.r_[-1 - np.arange(n), known.ids], np.r_[np.full(n, "upload@-1", object), known.photos],
                     np.r_[np.full(n, -1, np.int64), known.person], np.zeros(n + len(known.ids), bool),
                     np.concatenate([vecs, known.vecs]), known.enrolled_people, known.enrolled_vecs, set(), set(),
                     known.named, known.sizes)
    found = attach(g, np.arange(len(g.ids)) < n, s)
    out: list[Optional[PersonMatch]] = []
    for i in range(n):
        pid = found.get(i)
        if pid is None:
            out.append(None)
            continue
        theirs = np.concatenate([known.vecs[known.person == pid], known.enrolled_vecs[known.enrolled_people == pid]])
        out.append(PersonMatch(int(pid), float((theirs @ vecs[i]).max())))
    return out


#: How strict each identity's grouping is, as dlib distances (attach, cluster) carried to its vectors at the same
#: false-accept rates; measured in bench/people.md, where the sets' tuning on the other two sets chose these for its
#: identity (every set for dlib+faceres; glint12 and sports5 for dlib+sface, celeb5 (0.07, 0.06)). An identity not
#: listed gets GroupingSettings' (measured on dlib's vectors).
STRICTNESS = {"dlib+faceres": (0.08, 0.06), "dlib+sface": (0.08, 0.06)}


def settings_for(identity: str) -> GroupingSettings:
    """The default settings for `identity`'s vectors: its measured strictness (STRICTNESS, dlib distances) carried to
    its vectors at the same false-accept rates of different people's pairs (faces/identity_stats.same_strictness)."""
    from dataclasses import replace

    from ..faces.identity_stats import same_strictness

    base = GroupingSettings()
    attach, cluster = STRICTNESS.get(identity, (base.attach_distance, base.cluster_distance))
    return replace(base, attach_distance=same_strictness(attach, "dlib", identity),
                   cluster_distance=same_strictness(cluster, "dlib", identity))


def group_gallery(store, full: bool = False, settings: Optional[GroupingSettings] = None,
                  who: Optional[str] = None):
    """Group the gallery's archive faces into people (one change in its history, undoable); returns the Change.

    :param store: an open gallery (gallery.open_gallery)
    :param full: regroup every face but those the user placed, instead of only the faces nobody has yet
    :param settings: how sure a run must be (default GroupingSettings())
    :param who: recorded in the history (default user@host)
    """
    settings = settings or settings_for(identity_name_of_gallery(store.backbone))
    if not full:
        store.refresh_person_bounds()  # the cones that let the run read only the people near its faces
    faces = store.gallery_faces() if full else store.grouping_faces(ATTACH_K, settings.attach_distance)
    return store.apply_assignment(group_faces(faces, settings, full), full=full, who=who)
