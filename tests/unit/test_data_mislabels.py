"""Mislabel finding on synthetic embeddings (no datasets, no models)."""
from __future__ import annotations

import numpy as np

from celebface.data.mislabels import find_mislabels


def _people(seed: int = 0, per: int = 15):
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(4, 128))
    vecs = np.concatenate([c + 0.25 * rng.normal(size=(per, 128)) for c in centres])
    vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
    persons = [p for p in "ABCD" for _ in range(per)]
    return vecs.astype(np.float32), persons


def test_a_face_in_the_wrong_folder_is_flagged_with_its_true_person():
    vecs, persons = _people()
    persons[3] = "C"  # a photo of A filed under C
    stranger = np.random.default_rng(9).normal(size=128)
    vecs = np.vstack([vecs, stranger / np.linalg.norm(stranger)]).astype(np.float32)
    persons.append("B")  # someone else entirely, filed under B
    hits = find_mislabels(vecs, np.ones(len(persons), bool), persons, {}, max_distance=0.5, other_distance=0.3)
    by_index = {h.index: h for h in hits}
    assert set(by_index) == {3, len(persons) - 1}
    assert by_index[3].best_other == "A"
    assert by_index[len(persons) - 1].best_other is None


def test_faces_without_a_face_and_copies_do_not_count():
    vecs, persons = _people()
    has_face = np.ones(len(persons), bool)
    has_face[5] = False
    vecs[5] = 0.0
    assert find_mislabels(vecs, has_face, persons, {}, max_distance=0.5, other_distance=0.3) == []
    # a wrong photo with two copies of itself in the folder is still flagged (copies are not evidence)
    persons[16] = persons[17] = persons[18] = "A"
    vecs[17] = vecs[18] = vecs[16]
    group_of = {16: 16, 17: 16, 18: 16}
    hits = find_mislabels(vecs, has_face, persons, group_of, max_distance=0.5, other_distance=0.3)
    assert {h.index for h in hits} == {16, 17, 18}


def _unit(v: np.ndarray) -> np.ndarray:
    return (v / np.linalg.norm(v, axis=-1, keepdims=True)).astype(np.float32)


def test_a_group_photo_whose_chosen_face_is_a_bystander_is_flagged_by_its_other_face():
    vecs, persons = _people()
    rng = np.random.default_rng(3)
    centre_a, centre_c = (vecs[[i for i, p in enumerate(persons) if p == q]].mean(0) for q in "AC")
    # photo 35 (filed under C) shows A; the face chosen for C is a bystander only loosely like C
    vecs[35] = _unit(centre_c / np.linalg.norm(centre_c) + 0.6 * rng.normal(size=128) / np.sqrt(128))
    a_face = _unit(centre_a / np.linalg.norm(centre_a) + 0.25 * rng.normal(size=128) / np.sqrt(128))
    # photo 40 (C) is a true C photo with an A face beside C's: not a mislabel
    other_faces = {35: a_face[None, :], 40: a_face[None, :]}
    has_face = np.ones(len(persons), bool)
    plain = find_mislabels(vecs, has_face, persons, {}, max_distance=0.5, other_distance=0.1)
    assert 35 not in {h.index for h in plain}
    hits = find_mislabels(vecs, has_face, persons, {}, max_distance=0.5, other_distance=0.1, other_faces=other_faces)
    by_index = {h.index: h for h in hits}
    assert set(by_index) == {35} and by_index[35].best_other == "A"
    assert by_index[35].distance_other < by_index[35].distance_own
