"""The measures of bench/identity.py: verification over all pairs, open-set naming against strangers, and small
galleries named through the library's own gallery matcher (its threshold from the identity's statistics)."""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np


def verification(vecs: np.ndarray, labels: np.ndarray) -> dict:
    """AUC, EER and TAR at FAR 1e-2 / 1e-3 over every pair of faces."""
    from sklearn.metrics import roc_auc_score, roc_curve

    i, j = np.triu_indices(len(vecs), 1)
    same = labels[i] == labels[j]
    sims = (vecs @ vecs.T)[i, j]
    fpr, tpr, _ = roc_curve(same, sims)
    eer_at = int(np.argmin(np.abs(fpr - (1 - tpr))))
    return {"auc": float(roc_auc_score(same, sims)), "eer": float((fpr[eer_at] + 1 - tpr[eer_at]) / 2),
            "tar2": float(np.interp(1e-2, fpr, tpr)), "tar3": float(np.interp(1e-3, fpr, tpr)),
            "same": int(same.sum()), "diff": int((~same).sum())}


def pick_gallery(labels: np.ndarray, shots: int, seed: int) -> np.ndarray:
    """A mask of `shots` random faces of each person with more than `shots` faces (the rest are probes)."""
    rng, mask = np.random.default_rng(seed), np.zeros(len(labels), bool)
    for k in np.unique(labels):
        mine = np.flatnonzero(labels == k)
        if len(mine) > shots:
            mask[rng.choice(mine, shots, replace=False)] = True
    return mask


def best_per_person(q: np.ndarray, g: np.ndarray, g_labels: np.ndarray, people: np.ndarray) -> np.ndarray:
    sims = q @ g.T
    return np.stack([sims[:, g_labels == k].max(1) for k in people], axis=1)


def threshold_for(stranger_scores: np.ndarray, rate: float) -> float:
    """The least threshold at which at most a share `rate` of strangers (score >= threshold) pass."""
    s = np.sort(stranger_scores)[::-1]
    k = int(np.floor(rate * len(s)))
    return float(s[k]) + 1e-6 if k < len(s) else -1.0


def open_set(vecs: np.ndarray, labels: np.ndarray, strangers: np.ndarray, shots: int, seed: int) -> dict:
    """Rank-1 of the probes, and the share named right at the thresholds that pass <= 3% / <= 1% of strangers."""
    gal = pick_gallery(labels, shots, seed)
    people = np.unique(labels[gal])
    probes = ~gal & np.isin(labels, people)
    scores = best_per_person(vecs[probes], vecs[gal], labels[gal], people)
    best, top = people[scores.argmax(1)], scores.max(1)
    s_str = best_per_person(strangers, vecs[gal], labels[gal], people).max(1)
    right = best == labels[probes]
    out = {"rank1": float(right.mean()), "n": int(probes.sum()), "strangers": int(len(strangers))}
    for rate, key in ((0.03, "right3"), (0.01, "right1")):
        out[key] = float((right & (top >= threshold_for(s_str, rate))).mean())
    return out


def with_stats(stats_file: Path):
    """Point the library at a statistics file (as a user can, with CELEBFACE_IDENTITY_STATS)."""
    from celebface.faces.identity_stats import STATS_ENV, load_stats

    os.environ[STATS_ENV] = str(stats_file)
    load_stats.cache_clear()


def small_gallery(vecs: np.ndarray, labels: np.ndarray, people: list[str], shots: int, seed: int,
                  strangers: np.ndarray, identity: str, stats_file: Path) -> dict:
    """Enrol `shots` faces of each person into an empty SQLite gallery and name the others and the strangers with
    the library's GalleryMatcher (its threshold: calibrated, or from the identity's statistics when too small)."""
    from celebface.faces.identity import get_identity
    from celebface.gallery.matcher import GalleryMatcher
    from celebface.gallery.records import NewFace
    from celebface.gallery.sqlite import SQLiteStore

    with_stats(stats_file)
    spec, gal = get_identity(identity), pick_gallery(labels, shots, seed)
    with tempfile.TemporaryDirectory() as tmp:
        store = SQLiteStore(Path(tmp) / "g.db", spec.recorded_as, spec.dim)
        for k in np.unique(labels[gal]):
            store.add(people[k], [NewFace(v) for v in vecs[gal & (labels == k)]])
        matcher = GalleryMatcher(store)
        probes = ~gal & np.isin(labels, np.unique(labels[gal]))
        known = [m.name for m in matcher.match(vecs[probes])]
        named = [m.name for m in matcher.match(strangers)] if len(strangers) else []
        cal = matcher.calibration
        store.close()
    truth = [people[k] for k in labels[probes]]
    return {"right": float(np.mean([a == b for a, b in zip(known, truth)])), "n": len(truth),
            "strangers_named": float(np.mean([n != "unknown" for n in named])) if named else float("nan"),
            "n_strangers": len(named), "threshold": float(matcher.threshold), "trusted": bool(cal and cal.trusted)}


def few_shot(vecs: np.ndarray, labels: np.ndarray, people: list[str], shots: int, identity: str,
             stats_file: Path, strangers: np.ndarray, seeds=(0, 1, 2)) -> list[dict]:
    """small_gallery over seeds."""
    return [small_gallery(vecs, labels, people, shots, s, strangers, identity, stats_file) for s in seeds]
