"""The gallery's threshold by leave-one-out: each face is matched against all the others.

Known: a face whose nearest other face belongs to its own person scores that similarity (a face whose nearest other
face is someone else's is a naming error: it scores -inf, so no threshold accepts it). Unknown: the same face with
its whole person removed scores its best similarity to anyone else (what a stranger who looks like them scores).
The threshold maximises known-accept-rate + unknown-reject-rate. With fewer than MIN_KNOWN known faces or
MIN_PEOPLE people of 2+ faces the result is not trusted: the threshold then follows a target share of strangers named
(faces/identity_stats.py: from the identity embedder's impostor statistics, measured on many people, and the
gallery's number of faces), or DEFAULT_THRESHOLD for an identity without statistics.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from ..faces.identity_stats import FALLBACK_THRESHOLD

#: Cosine similarity used when the gallery is too small to calibrate and its identity has no statistics: dlib's
#: pair threshold (faces/identity_stats.py FALLBACK_THRESHOLD).
DEFAULT_THRESHOLD = FALLBACK_THRESHOLD
MIN_KNOWN = 30
MIN_PEOPLE = 3
MAX_FACES = 3000  # a random sample of this many faces keeps the O(N^2) check under a second


@dataclass
class Calibration:
    threshold: float
    known_accept_rate: float
    unknown_reject_rate: float
    n_known: int
    n_unknown: int
    people: int
    trusted: bool
    note: str

    def to_dict(self) -> dict:
        return asdict(self)


def best_threshold(known: np.ndarray, unknown: np.ndarray) -> tuple[float, float, float]:
    """(threshold, known accept rate, unknown reject rate) maximising their sum; vectorised over candidates."""
    cands = np.unique(np.concatenate([known[np.isfinite(known)], unknown]))
    if len(cands) == 0:
        return DEFAULT_THRESHOLD, 0.0, 0.0
    ks, us = np.sort(known), np.sort(unknown)
    acc = 1.0 - np.searchsorted(ks, cands, side="left") / max(len(ks), 1)
    rej = np.searchsorted(us, cands, side="left") / max(len(us), 1)
    i = int(np.argmax(acc + rej))
    lower = cands[i - 1] if i > 0 else cands[i]
    return float((cands[i] + lower) / 2), float(acc[i]), float(rej[i])


def fallback_threshold(identity: str, faces: int) -> tuple[float, str]:
    """The threshold of a gallery too small to calibrate, and what it is.

    :param identity: the identity embedder of its vectors; faces: how many faces it holds"""
    from ..faces.identity_stats import STRANGER_RATE, small_gallery_threshold

    t = small_gallery_threshold(identity, faces)
    if t is None:
        return DEFAULT_THRESHOLD, f"using the default threshold {DEFAULT_THRESHOLD}"
    return round(t, 4), (f"using {t:.4f}, at which {identity}'s impostor statistics name at most "
                         f"{STRANGER_RATE:.0%} of strangers' faces against {faces} gallery faces")


def calibrate_gallery(people: np.ndarray, vecs: np.ndarray, seed: int = 0, identity: str = "dlib",
                      faces: int = 0) -> Calibration:
    """Leave-one-out threshold for a gallery of unit vectors `vecs` with person ids `people`.

    :param people: (N,) person id of each face
    :param vecs: (N, D) unit embeddings
    :param identity: the identity embedder of the vectors (its statistics set the threshold of a small gallery)
    :param faces: how many faces the whole gallery holds, if `vecs` is a sample of it
    """
    default, how = fallback_threshold(identity, max(faces, len(people)))
    if len(people) > MAX_FACES:
        pick = np.random.default_rng(seed).choice(len(people), MAX_FACES, replace=False)
        people, vecs = people[pick], vecs[pick]
    ids, counts = np.unique(people, return_counts=True)
    multi = set(ids[counts >= 2].tolist())
    n_people = len(ids)
    if len(people) < 2 or n_people < 2:
        return Calibration(default, 0.0, 0.0, 0, 0, n_people, False, f"fewer than 2 people in the gallery: {how}")
    sims = vecs @ vecs.T
    np.fill_diagonal(sims, -np.inf)
    same = people[:, None] == people[None, :]
    own = np.where(same, sims, -np.inf).max(1)
    other = np.where(same, -np.inf, sims).max(1)
    has_own = np.array([p in multi for p in people])
    known = np.where(own > other, own, -np.inf)[has_own]
    unknown = other[np.isfinite(other)]
    t, acc, rej = best_threshold(known, unknown)
    people_multi = len(multi)
    trusted = len(known) >= MIN_KNOWN and people_multi >= MIN_PEOPLE
    if not trusted:
        note = (f"only {len(known)} faces of {people_multi} people with 2+ faces (need {MIN_KNOWN} of "
                f"{MIN_PEOPLE}): the measured rates are not reliable; {how}")
        return Calibration(default, acc, rej, len(known), len(unknown), n_people, False, note)
    return Calibration(t, acc, rej, len(known), len(unknown), n_people, True,
                       f"leave-one-out over {len(people)} faces of {n_people} people")
