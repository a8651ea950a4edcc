"""Saying "unknown": a score per face, and a threshold calibrated on validation data.

Score: for embedding backbones, the cosine similarity of the face to the nearest training face of the
predicted person (a gallery); for CNN backbones, the softmax probability of the predicted person.
Calibration simulates unknown people by leaving each validation person out in turn: a face of person c is
scored as if c were not known (c's gallery faces, or c's softmax column, removed). The threshold maximises
known-accept-rate + unknown-reject-rate on those scores.
"""
from __future__ import annotations

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
