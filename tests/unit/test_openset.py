"""Open-set scores and the threshold calibration, on synthetic vectors."""
from __future__ import annotations

import numpy as np
import pytest

from celebface.recognition.openset import calibrate, gallery_scores, softmax_scores


def unit(v):
    v = np.asarray(v, np.float32)
    return v / np.linalg.norm(v, axis=-1, keepdims=True)


def test_gallery_score_is_best_similarity_to_the_predicted_person() -> None:
    gallery = unit([[1, 0], [0, 1], [0.6, 0.8]])
    labels = np.array([0, 1, 1])
    feats = unit([[0.8, 0.6]])
    # to person 1: best of (0, 1) and (0.6, 0.8) -> 0.48 + 0.48 = 0.96
    assert gallery_scores(feats, gallery, labels, np.array([1]))[0] == pytest.approx(0.96, abs=1e-5)
    assert gallery_scores(feats, gallery, labels, np.array([0]))[0] == pytest.approx(0.8, abs=1e-5)
    # leaving person 1 out: the best similarity to anyone else
    assert gallery_scores(feats, gallery, labels, np.array([1]), exclude=np.array([1]))[0] == pytest.approx(0.8)


def test_softmax_score_without_the_true_column_is_renormalised() -> None:
    probs = np.array([[0.7, 0.2, 0.1]])
    assert softmax_scores(probs)[0] == pytest.approx(0.7)
    assert softmax_scores(probs, exclude=np.array([0]))[0] == pytest.approx(2 / 3)


def test_calibration_separates_known_from_unknown() -> None:
    known = np.array([0.9, 0.85, 0.8, 0.95])
    unknown = np.array([0.3, 0.5, 0.6, 0.4])
    c = calibrate(known, unknown)
    assert 0.6 < c["threshold"] <= 0.8
    assert c["known_accept_rate"] == 1.0 and c["unknown_reject_rate"] == 1.0
    assert c["n_known"] == 4 and c["n_unknown"] == 4


def test_calibration_with_overlap_trades_off() -> None:
    c = calibrate(np.array([0.9, 0.5]), np.array([0.6, 0.2]))
    assert c["known_accept_rate"] + c["unknown_reject_rate"] == pytest.approx(1.5)
