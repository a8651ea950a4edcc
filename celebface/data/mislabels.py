"""Faces that do not match the rest of their folder: likely mislabelled photos.

For each photo, the median cosine distance from its chosen face to the other faces of its folder (near-copies
of the photo itself left out) is compared with the median distance to every other person's faces. A photo is
flagged when its own folder is far (above MISLABEL_DISTANCE), or when another person's faces are closer than its
own and as close as one person's photos usually are (below OTHER_DISTANCE). In a photo with several faces, the
face chosen for the folder may be a bystander; such a photo is also flagged when another of its faces is clearly
another person (below OTHER_FACE_DISTANCE) and fits that person better, by OTHER_FACE_MARGIN, than the chosen face
fits the folder.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Sequence

import numpy as np

#: Median cosine distance (dlib embeddings) to the rest of the folder above which a face is flagged
#: (measured in bench/data.py on planted wrong-person photos in sports5 and glint12).
MISLABEL_DISTANCE = 0.16
#: ... or whose median distance to another person's faces is below this and below the own folder's.
#: On sports5 (5% planted, seed 0) planted photos sat at 0.04-0.09 from their true person, clean photos that
#: were closer to another folder at 0.105 or more.
OTHER_DISTANCE = 0.10
#: A non-chosen face of a multi-face photo whose median distance to another person's faces is below this ...
#: On sports5 (5% planted, seeds 0-2) the photo of that person in the wrong folder had its true person's face at
#: 0.050-0.068 while the chosen face sat 0.101-0.154 from the folder; clean photos with such a face had their
#: chosen face at most 0.009 further from their folder than the other face from its person.
OTHER_FACE_DISTANCE = 0.08
#: ... and at least this much below the chosen face's median distance to its own folder flags the photo.
OTHER_FACE_MARGIN = 0.03


@dataclass(frozen=True)
class MislabelHit:
    index: int
    distance_own: float
    best_other: Optional[str]
    distance_other: Optional[float]


def median_distances(vecs: np.ndarray, rows: np.ndarray, cols: np.ndarray, exclude: Optional[np.ndarray] = None
                     ) -> np.ndarray:
    """Median cosine distance from each row vector to the column vectors (excluded pairs left out).

    :param vecs: (N, D) unit vectors.
    :param rows: indices of the rows.
    :param cols: indices of the columns.
    :param exclude: optional (len(rows), len(cols)) bool mask of pairs to leave out.
    """
    dist = 1.0 - vecs[rows] @ vecs[cols].T
    if exclude is not None:
        dist = np.where(exclude, np.nan, dist)
    with np.errstate(all="ignore"):
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            return np.nanmedian(dist, axis=1) if dist.shape[1] else np.full(len(rows), np.nan)


def find_mislabels(vecs: np.ndarray, has_face: np.ndarray, persons: Sequence[str], group_of: dict[int, int],
                   max_distance: float = MISLABEL_DISTANCE, other_distance: float = OTHER_DISTANCE,
                   other_faces: Optional[dict[int, np.ndarray]] = None) -> list[MislabelHit]:
    """Photos whose chosen face matches its folder badly, with the best matching other person if closer.

    :param vecs: (N, 128) unit embeddings of each photo's chosen face.
    :param has_face: (N,) bool, which photos have a face.
    :param persons: the folder (person) of each photo.
    :param group_of: near-duplicate group id of each photo in a group (copies are not evidence for each other).
    :param max_distance: median distance to the own folder above which a face is flagged.
    :param other_distance: median distance to another, closer person below which a face is flagged.
    :param other_faces: optional unit embeddings (k, D) of the faces not chosen in each multi-face photo (by index).
    """
    persons_arr = np.asarray(persons)
    idx = np.nonzero(has_face)[0]
    names = sorted(set(persons_arr[idx]))
    cols_of = {p: idx[persons_arr[idx] == p] for p in names}
    group = np.array([group_of.get(int(i), int(i)) for i in range(len(persons_arr))])
    hits = []
    for p in names:
        rows = cols_of[p]
        if len(rows) < 3:  # too few faces to say which one is the odd one out
            continue
        own = median_distances(vecs, rows, rows, group[rows][:, None] == group[rows][None, :])
        best_d = np.full(len(rows), np.inf)
        best_q = np.array([""] * len(rows), dtype=object)
        for q in names:
            if q != p and len(cols_of[q]) >= 2:
                d = median_distances(vecs, rows, cols_of[q])
                better = d < best_d
                best_d[better], best_q[better] = d[better], q
        for k, i in enumerate(rows):
            closer = best_d[k] < own[k]
            if own[k] > max_distance or (closer and best_d[k] < other_distance):
                hits.append(MislabelHit(int(i), round(float(own[k]), 4), best_q[k] if closer else None,
                                        round(float(best_d[k]), 4) if closer else None))
            elif other_faces and int(i) in other_faces:
                hit = _bystander_hit(vecs, int(i), float(own[k]), other_faces[int(i)], p, cols_of)
                hits += [hit] if hit else []
    return sorted(hits, key=lambda h: h.index)


def _bystander_hit(vecs: np.ndarray, index: int, own: float, faces: np.ndarray, person: str,
                   cols_of: dict[str, np.ndarray]) -> Optional[MislabelHit]:
    """A hit when another face of the photo is clearly another person and fits them better than the chosen face
    fits `person` (the chosen face is then likely a bystander in a photo of that other person)."""
    best_d, best_q = np.inf, None
    for q, cols in cols_of.items():
        if q != person and len(cols) >= 2 and len(faces):
            d = float(np.median(1.0 - faces @ vecs[cols].T, axis=1).min())
            if d < best_d:
                best_d, best_q = d, q
    if best_d < OTHER_FACE_DISTANCE and own - best_d >= OTHER_FACE_MARGIN:
        return MislabelHit(index, round(own, 4), best_q, round(best_d, 4))
    return None
