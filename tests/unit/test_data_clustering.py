"""Clustering and its scores on synthetic embeddings (no datasets, no models)."""
from __future__ import annotations

import numpy as np
import pytest

from celebface.data.clustering import METHODS, cluster_vectors, score_clusters


def _people(n_people: int = 6, per: int = 12, spread: float = 0.12, seed: int = 0):
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(n_people, 128))
    vecs = np.concatenate([c + spread * rng.normal(size=(per, 128)) for c in centres])
    vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
    return vecs.astype(np.float32), np.repeat(np.arange(n_people), per)


def test_scores_of_perfect_merged_and_split_clusterings():
    truth = np.array([0, 0, 0, 1, 1, 1])
    perfect = score_clusters(truth, np.array([5, 5, 5, 2, 2, 2]))
    assert perfect.bcubed_f == 1.0 and perfect.pairwise_precision == 1.0 and perfect.clusters == 2
    merged = score_clusters(truth, np.zeros(6, int))
    assert merged.bcubed_recall == 1.0 and merged.bcubed_precision == 0.5 and merged.pairwise_precision == 0.4
    left_out = score_clusters(truth, np.array([0, 0, -1, 1, 1, -1]))
    assert left_out.left_out == 2 and left_out.bcubed_precision == 1.0
    assert left_out.bcubed_recall == pytest.approx((4 * 2 / 3 + 2 * 1 / 3) / 6, abs=1e-4)


@pytest.mark.parametrize("method", METHODS)
def test_each_method_finds_well_separated_people(method):
    vecs, truth = _people()
    labels = cluster_vectors(vecs, method=method, min_faces=3, distance=0.3)
    s = score_clusters(truth, labels)
    assert s.bcubed_f >= 0.95, s
    assert s.clusters == 6


def test_small_clusters_are_left_out_and_ids_follow_size():
    vecs, truth = _people(n_people=3, per=10)
    odd = np.random.default_rng(5).normal(size=(2, 128)).astype(np.float32)
    odd /= np.linalg.norm(odd, axis=1, keepdims=True)
    vecs = np.concatenate([vecs[:25], odd])  # sizes 10, 10, 5 and two strays
    labels = cluster_vectors(vecs, min_faces=3, distance=0.3)
    assert (labels[-2:] == -1).all()
    assert np.bincount(labels[labels >= 0]).tolist() == [10, 10, 5]


def test_empty_and_single_face():
    assert cluster_vectors(np.zeros((0, 128), np.float32)).tolist() == []
    one = np.eye(1, 128, dtype=np.float32)
    assert cluster_vectors(one, min_faces=1).tolist() == [0]
    assert cluster_vectors(one, min_faces=3).tolist() == [-1]
