"""The face-verification gate: calibration on known faces, real strangers and simulated unknowns; the gate itself."""
from __future__ import annotations

import numpy as np
import pytest

from celebface.recognition.openset import best_per_person, calibrate_verification, rate
from celebface.recognition.verify import FaceVerifier
from celebface.training.strangers import iou
from celebface.types import Match


def unit(x: np.ndarray) -> np.ndarray:
    return (x / np.linalg.norm(x, axis=-1, keepdims=True)).astype(np.float32)


def people(rng: np.random.Generator, n_people: int, per: int, spread: float) -> tuple[np.ndarray, np.ndarray]:
    centres = unit(rng.normal(size=(n_people, 128)))
    vecs = unit(np.repeat(centres, per, 0) + spread * rng.normal(size=(n_people * per, 128)))
    return vecs, np.repeat(np.arange(n_people), per)


def test_rate_has_a_wilson_interval() -> None:
    r = rate(45, 50)
    assert r.rate == 0.9 and r.low < 0.9 < r.high and 0.75 < r.low and r.high < 0.97
    assert rate(0, 0).n == 0


def test_calibration_separates_known_faces_from_strangers() -> None:
    rng = np.random.default_rng(0)
    vecs, labels = people(rng, 4, 30, 0.08)
    gallery, glabels = vecs[::2], labels[::2]
    val, vlabels = vecs[1::2], labels[1::2]
    strangers = unit(rng.normal(size=(40, 128)))
    cal = calibrate_verification(gallery, glabels, val, vlabels, vlabels, strangers, np.full(40, -1),
                                 {"test strangers": 40})
    assert cal.known_accepted.rate == 1.0 and cal.strangers_rejected.rate == 1.0
    assert cal.simulated_rejected.rate == 1.0 and cal.known_accepted.n == len(val)
    per = best_per_person(val, gallery, glabels, 4)
    assert per[np.arange(len(val)), vlabels].min() >= cal.threshold > best_per_person(strangers, gallery, glabels,
                                                                                       4).max()


def test_faces_beside_a_person_that_look_like_them_are_not_counted_as_strangers() -> None:
    rng = np.random.default_rng(1)
    vecs, labels = people(rng, 3, 20, 0.05)
    gallery, glabels, val, vlabels = vecs[::2], labels[::2], vecs[1::2], labels[1::2]
    again = val[:5]  # the person again (a collage, a second copy): found beside person 0 in their photo
    cal = calibrate_verification(gallery, glabels, val, vlabels, vlabels, again, np.zeros(5, np.int64))
    assert cal.strangers_rejected.n == 0 and cal.sources["left out as likely known people"] == 5


def test_iou() -> None:
    assert iou([0, 0, 10, 10], [0, 0, 10, 10]) == 1.0 and iou([0, 0, 10, 10], [20, 20, 30, 30]) == 0.0
    assert iou([0, 0, 10, 10], [5, 0, 15, 10]) == pytest.approx(1 / 3)


class FakeGallery:
    """Stands in for a GalleryMatcher: each face's similarity to each named person is given."""

    def __init__(self, sims: dict[str, list[float]]) -> None:
        self.sims = sims

    def person_scores(self, feats: np.ndarray, names: list[str]) -> np.ndarray:
        return np.array([self.sims.get(n, [-1.0] * len(names))[i] for i, n in enumerate(names)], np.float32)


def test_verifier_keeps_a_name_only_when_the_face_looks_like_that_person() -> None:
    ms = [Match("Ann", 0.99, 0.99, [("Ann", 0.99)]), Match("Ann", 0.97, 0.97, [("Ann", 0.97)]),
          Match("unknown", 0.4, 0.4, [("Bob", 0.4)])]
    gate = FaceVerifier(FakeGallery({"Ann": [0.95, 0.80, 0.0], "Bob": [0.0, 0.0, 0.99]}), 0.9)
    out = gate.apply(ms, np.zeros((3, 128), np.float32))
    assert [m.name for m in out] == ["Ann", "unknown", "unknown"]  # the head's own "unknown" stays unknown
    assert [m.score for m in out] == [pytest.approx(0.95), pytest.approx(0.8), pytest.approx(0.99)]
    assert out[0].confidence == 0.99  # the head's probability is kept as the confidence


def test_too_few_faces_to_calibrate_follow_the_small_gallery_rule() -> None:
    """A gate too small to calibrate takes the threshold at which its identity's impostor statistics name at most
    2% of strangers against as many gallery faces as a stranger meets (as a small gallery does), not a pair
    threshold: the more faces a stranger is compared with, the stricter."""
    from celebface.gallery.calibrate import fallback_threshold

    rng = np.random.default_rng(2)
    vecs, labels = people(rng, 3, 6, 0.05)
    args = (vecs[::2], labels[::2], vecs[1::2], labels[1::2], labels[1::2], unit(rng.normal(size=(5, 128))))
    cal = calibrate_verification(*args)  # dlib's vectors (None), every one of the 9 gallery faces met
    assert not cal.trusted and cal.threshold == fallback_threshold("dlib", 9)[0] and "9 gallery faces" in cal.note
    one = calibrate_verification(*args, chances=1)
    assert one.threshold == fallback_threshold("dlib", 1)[0] < cal.threshold


def test_too_few_faces_fall_back_to_the_identitys_own_statistics() -> None:
    """A fused identity's similarities live on another scale than dlib's: its fallback comes from its own measured
    impostor statistics, never dlib's 0.91, which would call every known face unknown."""
    from celebface.gallery.calibrate import fallback_threshold

    rng = np.random.default_rng(2)
    vecs, labels = people(rng, 3, 6, 0.05)
    cal = calibrate_verification(vecs[::2], labels[::2], vecs[1::2], labels[1::2], labels[1::2],
                                 unit(rng.normal(size=(5, 128))), identity="dlib+faceres", chances=3)
    expected = fallback_threshold("dlib+faceres", 3)[0]
    assert not cal.trusted and cal.threshold == pytest.approx(expected, abs=1e-4) and expected < 0.85
    assert "dlib+faceres" in cal.note
