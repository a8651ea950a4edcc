"""The gallery store on synthetic vectors: people, faces, history and undo, names, errors, two writers.

Every test takes `open_gallery` (a function opening a store on one shared database); tests/integration/
test_gallery_postgres.py runs the same tests against a real PostgreSQL + pgvector.
"""
from __future__ import annotations

import numpy as np
import pytest

from celebface.errors import GalleryError
from celebface.gallery.records import NewFace

DIM = 128


@pytest.fixture
def open_gallery(tmp_path):
    from celebface.gallery.sqlite import SQLiteStore

    opened = []

    def make(backbone: str = "dlib_face", dim: int = DIM):
        store = SQLiteStore(tmp_path / "gallery.db", backbone, dim)
        opened.append(store)
        return store

    yield make
    for s in opened:
        s.close()


def faces(n: int, seed: int = 0, centre: np.ndarray | None = None) -> list[NewFace]:
    rng = np.random.default_rng(seed)
    base = rng.normal(size=DIM) if centre is None else centre
    return [NewFace((base + 0.1 * rng.normal(size=DIM)).astype(np.float32), file=f"p{i}.jpg", sha256=f"{seed}-{i}")
            for i in range(n)]


def counts(store) -> dict[str, int]:
    return {p.name: p.faces for p in store.people()}


def test_enrolling_an_existing_name_adds_faces_and_replace_is_explicit(open_gallery):
    g = open_gallery()
    g.add("Ann", faces(3, 1))
    g.add("Ann", faces(2, 2))
    assert counts(g) == {"Ann": 5}
    change = g.add("Ann", faces(1, 3), replace=True)
    assert change.action == "replace" and "5 earlier face(s) removed" in change.summary
    assert counts(g) == {"Ann": 1}
    g.undo()
    assert counts(g) == {"Ann": 5}


def test_forget_and_undo_restore_the_same_faces(open_gallery):
    g = open_gallery()
    g.add("Ann", faces(3, 1))
    g.add("Bob", faces(2, 2))
    before = g.changes_since(0)
    g.forget("Ann")
    assert counts(g) == {"Bob": 2}
    assert len(g.changes_since(before.change_id).removed_ids) == 3
    g.undo()
    after = g.changes_since(0)
    assert counts(g) == {"Ann": 3, "Bob": 2}
    order_b, order_a = np.argsort(before.added_ids), np.argsort(after.added_ids)
    assert np.array_equal(before.added_ids[order_b], after.added_ids[order_a])
    assert np.allclose(before.added_vecs[order_b], after.added_vecs[order_a])


def test_history_records_who_what_and_undo_is_a_stack(open_gallery):
    g = open_gallery()
    g.add("Ann", faces(2, 1), who="alice@test")
    g.rename("Ann", "Anna", who="bob@test")
    g.add("Cy", faces(1, 2))
    hist = g.history()
    assert [c.action for c in hist] == ["add", "rename", "add"]
    assert hist[1].who == "bob@test" and hist[2].who == "alice@test"
    g.undo()
    g.undo()
    assert counts(g) == {"Ann": 2}
    g.undo()
    assert counts(g) == {}
    with pytest.raises(GalleryError, match="nothing to undo"):
        g.undo()
    assert [c.undone_by is not None for c in g.history() if c.action != "undo"] == [True, True, True]


@pytest.mark.parametrize("bad", ["", "   ", "a/b", "unknown", "Unknown", "line\nbreak", "nul\x00", "x" * 201, ".."])
def test_bad_names_are_refused_and_nothing_is_written(open_gallery, bad):
    g = open_gallery()
    with pytest.raises(GalleryError):
        g.add(bad, faces(1))
    assert g.people() == [] and g.history() == []


def test_names_are_stripped_and_rename_to_a_taken_name_is_refused(open_gallery):
    g = open_gallery()
    g.add("  Ann  ", faces(1, 1))
    g.add("Bob", faces(1, 2))
    assert counts(g) == {"Ann": 1, "Bob": 1}
    with pytest.raises(GalleryError, match="already in the gallery"):
        g.rename("Ann", "Bob")
    with pytest.raises(GalleryError, match="no person named"):
        g.forget("Zed")


def test_a_failing_change_writes_nothing(open_gallery):
    g = open_gallery()
    bad = faces(2, 1) + [NewFace(np.ones(DIM + 1, np.float32))]
    with pytest.raises(GalleryError, match="never mix"):
        g.add("Ann", bad)
    assert g.people() == [] and g.history() == [] and g.change_id() == 0


def test_another_backbone_is_refused(open_gallery):
    open_gallery().add("Ann", faces(1))
    with pytest.raises(GalleryError, match="never mix"):
        open_gallery(backbone="facenet", dim=512)


def test_two_writers_see_each_others_changes(open_gallery):
    a, b = open_gallery(), open_gallery()
    a.add("Ann", faces(2, 1))
    seen = b.change_id()
    b.add("Bob", faces(1, 2))
    a.add("Ann", faces(1, 3))
    delta = b.changes_since(seen)
    assert sorted(delta.names.values()) == ["Ann", "Bob"]
    assert len(delta.added_ids) == 2
    assert counts(a) == counts(b) == {"Ann": 3, "Bob": 1}


def test_training_import_once_per_model_and_enrolled_people_survive(open_gallery):
    g = open_gallery()
    g.add("Zoe", faces(2, 9))
    names = ["Ann", "Bob"]
    assert g.import_training("model-1", names, faces(4, 1), np.array([0, 0, 1, 1])) is not None
    assert g.import_training("model-1", names, faces(4, 1), np.array([0, 0, 1, 1])) is None
    g.import_training("model-2", ["Ann", "Cy"], faces(3, 2), np.array([0, 1, 1]))
    assert counts(g) == {"Ann": 1, "Cy": 2, "Zoe": 2}
    g.undo()
    assert counts(g) == {"Ann": 2, "Bob": 2, "Zoe": 2}
    assert g.import_training("model-1", names, faces(4, 1), np.array([0, 0, 1, 1])) is None


def _sightings(n: int, seed: int, frame: float | None = None):
    from celebface.gallery.sightings import Sighting

    rng = np.random.default_rng(seed)
    vecs = rng.normal(size=(n, DIM)).astype(np.float32)
    vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
    rows = [Sighting(sha256=f"sha-{seed}-{i // 2}", path=f"archive/{seed}/{i // 2}.jpg", time=frame, face=i % 2,
                     box=[1.0, 2.0, 30.5, 40.25], quality=0.9, name=None if i % 3 else "Ann", score=0.5)
            for i in range(n)]
    return rows, vecs


def test_archive_faces_are_stored_once_searched_and_listed_in_batches(open_gallery):
    from dataclasses import replace

    g = open_gallery()
    rows, vecs = _sightings(10, 1)
    assert g.add_sightings(rows, vecs) == 10
    # the same faces again, and the same photo found under another path: nothing new
    assert g.add_sightings(rows, vecs) == 0
    assert g.add_sightings([replace(r, path="elsewhere/" + r.path) for r in rows[:4]], vecs[:4]) == 0
    frames, _ = _sightings(4, 1, frame=2.5)  # the same sha256 and faces, but a frame of a video
    _, fvecs = _sightings(4, 2)
    assert g.add_sightings(frames, fvecs) == 4 and g.count_sightings() == 14
    found = g.search_sightings(vecs[7], k=3)
    assert found[0].sighting.path == rows[7].path and found[0].sighting.face == rows[7].face
    assert found[0].similarity == pytest.approx(1.0, abs=1e-4) and found[0].sighting.time is None
    assert found[0].similarity >= found[1].similarity >= found[2].similarity
    assert found[0].sighting.box == [1.0, 2.0, 30.5, 40.25] and found[0].sighting.name == rows[7].name
    near = g.search_sightings(fvecs[2], k=1)[0].sighting
    assert near.time == 2.5 and near.path == frames[2].path
    seen = [(s, v) for batch, vs in g.iter_sightings(batch=3) for s, v in zip(batch, vs)]
    assert len(seen) == 14 and len({s.id for s, _ in seen}) == 14
    assert np.allclose(seen[0][1], vecs[0], atol=1e-6)
    # people are untouched: sightings name nobody, and undo does not take them back
    assert g.people() == [] and g.count_sightings() == 14


def test_many_archive_faces_load_in_chunks_once_each(open_gallery):
    g = open_gallery()
    rows, vecs = _sightings(12, 3)
    chunks = [(rows[:5], vecs[:5]), (rows[5:], vecs[5:]), (rows[2:7], vecs[2:7])]  # the last repeats faces
    assert g.add_sightings_many(chunks, total=17) == 12
    assert g.count_sightings() == 12
    found = g.search_sightings(vecs[9], k=1)[0]
    assert found.sighting.path == rows[9].path and found.similarity == pytest.approx(1.0, abs=1e-4)
