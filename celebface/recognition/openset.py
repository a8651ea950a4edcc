"""Saying "unknown": a score per face, and a threshold calibrated on validation data.

Score: for embedding backbones, the cosine similarity of the face to the nearest training face of the
predicted person (a gallery); for CNN backbones, the softmax probability of the predicted person.
Calibration simulates unknown people by leaving each validation person out in turn: a face of person c is
scored as if c were not known (c's gallery faces, or c's softmax column, removed). The threshold maximises
known-accept-rate + unknown-reject-rate on those scores.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Optional

import numpy as np


def gallery_scores(feats: np.ndarray, gallery: np.ndarray, gallery_labels: np.ndarray, pred: np.ndarray,
                   exclude: Optional[np.ndarray] = None) -> np.ndarray:
    """Best cosine similarity of each face to the gallery faces of its predicted person.

    With `exclude` (one label per face), that person's gallery is removed and the best similarity to any
    other person is returned instead (what an unknown face of that person would score)."""
    f = feats / np.maximum(np.linalg.norm(feats, axis=1, keepdims=True), 1e-8)
    g = gallery / np.maximum(np.linalg.norm(gallery, axis=1, keepdims=True), 1e-8)
    sims = f @ g.T  # (N, G)
    if exclude is None:
        mask = gallery_labels[None, :] == pred[:, None]
    else:
        mask = gallery_labels[None, :] != exclude[:, None]
    return np.where(mask, sims, -np.inf).max(axis=1)


def softmax_scores(probs: np.ndarray, exclude: Optional[np.ndarray] = None) -> np.ndarray:
    """Max softmax probability; with `exclude`, renormalised without that person's column."""
    if exclude is None:
        return probs.max(axis=1)
    p = probs.copy()
    p[np.arange(len(p)), exclude] = 0.0
    p /= np.maximum(p.sum(axis=1, keepdims=True), 1e-12)
    return p.max(axis=1)


def calibrate(known: np.ndarray, unknown: np.ndarray) -> dict:
    """Threshold between known-face scores and simulated unknown-face scores, with its rates."""
    cands = np.unique(np.concatenate([known, unknown]))
    best = (-1.0, 0.0, 0.0, float(cands.min()) if len(cands) else 0.0)
    for t in cands:
        acc = float((known >= t).mean()) if len(known) else 0.0
        rej = float((unknown < t).mean()) if len(unknown) else 0.0
        if acc + rej > best[0]:
            best = (acc + rej, acc, rej, float(t))
    _, acc, rej, t = best
    # Put the threshold midway to the next lower score so that it does not sit exactly on a sample.
    lower = cands[cands < t]
    t_mid = float((t + lower.max()) / 2) if len(lower) else t
    return {"threshold": t_mid, "known_accept_rate": acc, "unknown_reject_rate": rej,
            "n_known": int(len(known)), "n_unknown": int(len(unknown))}


MIN_CALIBRATION = 30  # fewer known (or unknown) faces than this: the default threshold, not a calibrated one


@dataclass
class Rate:
    """A measured share with its 95% Wilson confidence interval."""

    hits: int
    n: int
    rate: float
    low: float
    high: float


def rate(hits: int, n: int) -> Rate:
    """hits / n with a 95% Wilson interval (scipy)."""
    from scipy.stats import binomtest

    if n == 0:
        return Rate(0, 0, 0.0, 0.0, 1.0)
    ci = binomtest(int(hits), int(n)).proportion_ci(confidence_level=0.95, method="wilson")
    return Rate(int(hits), int(n), round(hits / n, 4), round(float(ci.low), 4), round(float(ci.high), 4))


@dataclass
class VerifyCalibration:
    """The face-verification threshold and what it did on the faces it was calibrated on."""

    threshold: float
    known_accepted: Rate  # validation faces the model names correctly, still named with the gate
    strangers_rejected: Rate  # real strangers' faces called "unknown"
    simulated_rejected: Rate  # validation faces called "unknown" when their own person is left out
    sources: dict[str, int] = field(default_factory=dict)
    trusted: bool = True
    note: str = ""
    score: str = "face verification: identity vectors' cosine similarity to the named person's nearest gallery face"
    how: str = ("threshold maximising the known-accept rate plus the mean of the real-stranger and simulated-unknown "
                "reject rates, on validation faces and strangers' faces")

    def to_dict(self) -> dict:
        return asdict(self)


def best_per_person(feats: np.ndarray, gallery: np.ndarray, labels: np.ndarray, n_people: int) -> np.ndarray:
    """(N, P) best cosine similarity of each face to each person's gallery faces (-1 for a person with none)."""
    sims = feats @ gallery.T
    out = np.full((len(feats), n_people), -1.0, np.float32)
    for p in range(n_people):
        cols = labels == p
        if cols.any() and len(feats):
            out[:, p] = sims[:, cols].max(1)
    return out


def calibrate_verification(gallery: np.ndarray, gallery_labels: np.ndarray, val: np.ndarray, val_labels: np.ndarray,
                           val_pred: np.ndarray, strangers: np.ndarray, stranger_people: Optional[np.ndarray] = None,
                           sources: Optional[dict[str, int]] = None,
                           stranger_named: Optional[np.ndarray] = None,
                           identity: Optional[str] = None, chances: Optional[int] = None) -> VerifyCalibration:
    """The verification threshold from validation faces (known, and with their person left out) and strangers.

    :param gallery: (G, dim) unit identity vectors of the training faces; gallery_labels their people
    :param val: (N, 128) validation faces' embeddings; val_labels their people; val_pred the model's names for them
    :param strangers: (S, 128) strangers' faces
    :param stranger_people: for faces found beside a known person in their photo, that person's label (else -1):
        such a face most like that very person, or more like a known person than half the known faces are, is
        likely a known person again (a collage, a second copy of the photo, a team-mate who is known) and is left out
    :param stranger_named: the person a head names each stranger (-1: named by the gallery, i.e. the nearest
        person); the gate compares the face with that person's faces only
    :param identity: the identity embedder that made the vectors (faces/identity.py; None: dlib), whose impostor
        statistics set the threshold when there are too few faces to calibrate on: the one at which they name at most
        2% of strangers' faces, each compared with `chances` gallery faces, as for a small gallery
        (gallery/calibrate.fallback_threshold; a pair threshold would let a stranger pass the more often the more
        faces they meet)
    :param chances: how many distinct gallery faces a stranger is compared with, for that threshold (default: every
        gallery face)
    """
    n_people = int(max(gallery_labels.max(initial=-1), val_labels.max(initial=-1)) + 1)
    per = best_per_person(val, gallery, gallery_labels, n_people)
    rows = np.arange(len(val))
    ok = val_pred == val_labels
    known = per[rows, val_labels][ok]
    others = per.copy()
    others[rows, val_labels] = -np.inf
    simulated = others.max(1) if n_people > 1 else np.zeros(0, np.float32)
    real = _strangers_scores(strangers, stranger_people, gallery, gallery_labels, n_people, known, stranger_named)
    sources = dict(sources or {})
    sources["left out as likely known people"] = int(len(strangers) - len(real))
    t, trusted, note = _balanced_threshold(known, [u for u in (real, simulated) if len(u)]), True, ""
    if len(known) < MIN_CALIBRATION or len(real) + len(simulated) < MIN_CALIBRATION:
        from ..faces.identity import LEGACY_IDENTITY
        from ..gallery.calibrate import fallback_threshold  # a small gallery's rule

        t, how = fallback_threshold(identity or LEGACY_IDENTITY, max(1, len(gallery) if chances is None else chances))
        trusted = False
        note = (f"only {len(known)} known and {len(real) + len(simulated)} unknown faces to calibrate on (need "
                f"{MIN_CALIBRATION} of each): {how}")
    return VerifyCalibration(round(t, 4), rate(int((known >= t).sum()), len(known)),
                             rate(int((real < t).sum()), len(real)), rate(int((simulated < t).sum()), len(simulated)),
                             sources, trusted, note)


def _strangers_scores(strangers: np.ndarray, people: Optional[np.ndarray], gallery: np.ndarray, labels: np.ndarray,
                      n_people: int, known: np.ndarray, named: Optional[np.ndarray] = None) -> np.ndarray:
    """Each stranger's similarity to the person it is named as (by a head, else the nearest person), without the
    faces that are likely known people."""
    if len(strangers) == 0:
        return np.zeros(0, np.float32)
    per = best_per_person(strangers, gallery, labels, n_people)
    best, nearest = per.max(1), per.argmax(1)
    if named is not None:
        named = np.asarray(named)
        chosen = np.where(named >= 0, named, nearest)
        scores = per[np.arange(len(per)), chosen]
    else:
        scores = best
    keep = np.ones(len(strangers), bool)
    if people is not None:
        keep &= nearest != np.asarray(people)
    if len(known):
        keep &= best < np.median(known)
    return scores[keep]


def _balanced_threshold(known: np.ndarray, unknowns: list[np.ndarray]) -> float:
    """The threshold maximising known-accept rate + the mean of the unknown sets' reject rates, midway between
    the two scores around it."""
    cands = np.unique(np.concatenate([known, *unknowns]))
    if len(cands) == 0 or not unknowns:
        return 0.0
    ks = np.sort(known)
    acc = 1.0 - np.searchsorted(ks, cands, side="left") / max(len(ks), 1)
    rej = np.mean([np.searchsorted(np.sort(u), cands, side="left") / len(u) for u in unknowns], axis=0)
    i = int(np.argmax(acc + rej))
    return float((cands[i] + cands[i - 1]) / 2) if i > 0 else float(cands[i])
