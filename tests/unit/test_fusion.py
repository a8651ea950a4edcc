"""Late fusion (the `fusion` backbone): the face gallery's per-person similarities and the head's probabilities name
faces together; each settles what the other is unsure of; the gallery gives every head person a similarity."""
from __future__ import annotations

import numpy as np
import pytest

from celebface.faces.backbones import REGISTRY, get_spec
from celebface.gallery.matcher import GalleryMatcher
from celebface.gallery.records import NewFace
from celebface.gallery.sqlite import SQLiteStore
from celebface.recognition.fusion import fused_matches

DIM = 128
T = 0.005


def test_a_sure_face_embedding_outvotes_an_unsure_head_and_the_other_way_round():
    classes = ["A", "B", "C"]
    log_probs = np.log(np.array([[0.40, 0.35, 0.25],    # the head unsure, the faces clearly B
                                 [0.98, 0.01, 0.01],    # the head sure of A, the faces hesitate between A and B
                                 [0.10, 0.10, 0.80]]))  # both say C
    sims = np.array([[0.90, 0.96, 0.88],
                     [0.941, 0.943, 0.90],
                     [0.90, 0.91, 0.95]])
    got = fused_matches(classes, log_probs, sims, T)
    assert [m.name for m in got] == ["B", "A", "C"]
    assert all(m.top[0][0] == m.name and len(m.top) == 3 for m in got)
    assert all(0.0 < m.confidence <= 1.0 for m in got)
    # with a temperature this small the face similarities decide unless they are within a few hundredths
    assert [m.name for m in fused_matches(classes, log_probs, sims, 1e-4)] == ["B", "B", "C"]


@pytest.mark.parametrize("index", ["exact", "hnsw"])
def test_class_scores_give_every_person_their_best_similarity(tmp_path, index):
    rng = np.random.default_rng(0)
    centres = rng.normal(size=(4, DIM))
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    store = SQLiteStore(tmp_path / "gallery.db", "dlib_face", DIM)
    try:
        for i, c in enumerate(centres):
            v = c + 0.2 * rng.normal(size=(5, DIM)) / np.sqrt(DIM)
            store.add(f"P{i}", [NewFace((x / np.linalg.norm(x)).astype(np.float32)) for x in v])
        m = GalleryMatcher(store, index=index, k=2)
        q = centres[[1, 3]].astype(np.float32)
        got = m.class_scores(q, ["P3", "P1", "Nobody"])
        assert got.shape == (2, 3)
        assert got[0].argmax() == 1 and got[1].argmax() == 0  # each face most like its own person
        assert got[0, 1] > 0.9 and got[1, 0] > 0.9
        # a person out of the k nearest (or not in the gallery) gets no more than the least similarity found
        assert got[0, 2] <= got[0, 0] + 1e-6 and got[1, 2] <= got[1, 1] + 1e-6
    finally:
        store.close()


def test_the_fusion_backbone_is_registered_with_its_network_and_temperature():
    spec = get_spec("fusion")
    assert spec.fine_tunable and spec.face_fusion == pytest.approx(T)
    assert spec.same_network_as in REGISTRY and REGISTRY[spec.same_network_as].feature_dim == spec.feature_dim
    assert all(s.face_fusion is None for name, s in REGISTRY.items() if not name.startswith("fusion"))
    for name in ("fusion_lite1", "fusion_lite2"):  # the larger CNNs fused the same way, each with its own network
        bigger = get_spec(name)
        assert bigger.face_fusion == spec.face_fusion and bigger.same_network_as == "efficientnet_" + name[7:]
