"""Identity statistics: score-level fusion as one vector, impostor quantiles, and the threshold of a gallery too small
to calibrate following a target share of strangers named."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from celebface.faces.identity_fusion import centred_unit, fuse, fusion_weights
from celebface.faces.identity_stats import (STATS_ENV, fit_stats, impostor_stats, load_stats,
                                            small_gallery_threshold, threshold_at_far)


def people_vectors(n_people: int = 20, per: int = 6, dim: int = 16, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(n_people, dim))
    labels = np.repeat(np.arange(n_people), per)
    return centred_unit(centres[labels] + 0.5 * rng.normal(size=(len(labels), dim)), None), labels


def test_fused_cosine_is_the_weighted_sum_of_the_parts_cosines() -> None:
    a, _ = people_vectors(dim=8, seed=1)
    b, _ = people_vectors(dim=32, seed=2)
    w = [0.7, 0.3]
    f = fuse([a, b], w)
    assert np.allclose(np.linalg.norm(f, axis=1), 1.0, atol=1e-5)
    assert np.allclose(f @ f.T, (w[0] * (a @ a.T) + w[1] * (b @ b.T)) / sum(w), atol=1e-5)


def test_fusion_weights_follow_the_inverse_spread() -> None:
    w = fusion_weights([0.05, 0.15])
    assert w == pytest.approx([0.75, 0.25])


def test_impostor_quantiles_match_the_pairs() -> None:
    vecs, labels = people_vectors()
    stats = impostor_stats(vecs, labels)
    i, j = np.triu_indices(len(vecs), 1)
    diff = labels[i] != labels[j]
    sims = np.einsum("nd,nd->n", vecs[i][diff], vecs[j][diff])
    assert stats.pairs == diff.sum()
    for far in (0.1, 0.01):
        assert np.mean(sims >= threshold_at_far(stats, far)) == pytest.approx(far, abs=0.3 * far + 2 / len(sims))


def test_a_small_gallerys_threshold_rises_with_its_faces_and_names_the_target_share(tmp_path: Path,
                                                                                      monkeypatch) -> None:
    vecs, labels = people_vectors(n_people=30)
    path = tmp_path / "stats.json"
    path.write_text(json.dumps({"identities": fit_stats({"x": vecs}, labels, [], {})}))
    monkeypatch.setenv(STATS_ENV, str(path))
    load_stats.cache_clear()
    t1, t12, t100 = (small_gallery_threshold("x", g, 0.02) for g in (1, 12, 100))
    assert t1 < t12 < t100
    # fresh galleries of 12 people (other draws than the fit's): about 2% of the other people's faces pass t12
    rng, passed = np.random.default_rng(7), []
    for _ in range(200):
        chosen = rng.choice(30, 12, replace=False)
        gallery = vecs[[rng.choice(np.flatnonzero(labels == k)) for k in chosen]]
        passed.append(((vecs[~np.isin(labels, chosen)] @ gallery.T).max(1) >= t12).mean())
    assert np.mean(passed) == pytest.approx(0.02, abs=0.01)
    assert small_gallery_threshold("not-fitted", 12) is None
    load_stats.cache_clear()


def test_the_gallery_calibration_uses_the_statistics_when_too_small(tmp_path: Path, monkeypatch) -> None:
    from celebface.gallery.calibrate import DEFAULT_THRESHOLD, calibrate_gallery

    vecs, labels = people_vectors()
    path = tmp_path / "stats.json"
    path.write_text(json.dumps({"identities": fit_stats({"x": vecs}, labels, [], {})}))
    monkeypatch.setenv(STATS_ENV, str(path))
    load_stats.cache_clear()
    cal = calibrate_gallery(np.array([0, 1]), vecs[[0, 6]], identity="x")
    assert not cal.trusted and cal.threshold == pytest.approx(small_gallery_threshold("x", 2), abs=1e-4)
    assert "impostor statistics" in cal.note
    assert calibrate_gallery(np.array([0, 1]), vecs[[0, 6]], identity="no-stats").threshold == DEFAULT_THRESHOLD
    load_stats.cache_clear()


def test_centred_statistics_are_kept_for_centred_networks() -> None:
    vecs, labels = people_vectors()
    raw = vecs + 3.0  # a network whose outputs all share one direction
    out = fit_stats({"raw": raw, "plain": vecs}, labels, ["raw"], {"both": ("raw", "plain")})
    assert np.allclose(out["raw"]["center"], raw.mean(0), atol=1e-4) and "center" not in out["plain"]
    assert sum(out["both"]["weights"].values()) == pytest.approx(1.0)
    assert out["raw"]["impostor"]["mean"] < 0.5  # centred: strangers no longer all look alike


def test_a_distance_carries_to_another_identity_at_the_same_false_accept_rate(tmp_path: Path, monkeypatch) -> None:
    from celebface.faces.identity_stats import far_at_threshold, same_strictness

    a, labels = people_vectors(dim=16, seed=3)
    b, _ = people_vectors(dim=64, seed=3)  # the same people, another "network": other cosines
    path = tmp_path / "stats.json"
    path.write_text(json.dumps({"identities": fit_stats({"a": a, "b": b}, labels, [], {})}))
    monkeypatch.setenv(STATS_ENV, str(path))
    load_stats.cache_clear()
    stats = load_stats(path)
    d = same_strictness(0.3, "a", "b")
    assert d != pytest.approx(0.3, abs=1e-3)
    assert far_at_threshold(stats["b"].impostor, 1 - d) == pytest.approx(far_at_threshold(stats["a"].impostor, 0.7),
                                                                          rel=0.05)
    assert same_strictness(0.3, "a", "a") == 0.3 and same_strictness(0.3, "a", "unfitted") == 0.3
    load_stats.cache_clear()
