"""Every gallery index answers one shape (issue 33 #11): exact search, the HNSW graph and the store's own search
all give `Neighbours`, the matcher asks whichever was chosen when it opened without branching on its kind, and the
Store protocol declares everything the matcher and its indexes use."""
from __future__ import annotations

import ast
from pathlib import Path

import numpy as np
import pytest

from celebface.gallery.index import ExactIndex, HnswIndex
from celebface.gallery.live_index import open_index
from celebface.gallery.matcher import GalleryMatcher
from celebface.gallery.records import Neighbours, NewFace
from celebface.gallery.sqlite import SQLiteStore
from celebface.gallery.store import Store

DIM = 128
GALLERY = Path(__file__).resolve().parents[2] / "celebface" / "gallery"


@pytest.fixture
def store(tmp_path):
    rng = np.random.default_rng(7)
    s = SQLiteStore(tmp_path / "gallery.db", "dlib_face", DIM)
    centres = rng.normal(size=(5, DIM))
    for i, c in enumerate(centres):
        v = c + 0.3 * rng.normal(size=(4, DIM))
        s.add(f"P{i}", [NewFace((x / np.linalg.norm(x)).astype(np.float32)) for x in v])
    yield s, (centres / np.linalg.norm(centres, axis=1, keepdims=True)).astype(np.float32)
    s.close()


def test_every_index_answers_neighbours_with_the_same_nearest_person(store):
    s, centres = store
    delta = s.changes_since(0)
    exact, hnsw = ExactIndex(DIM), HnswIndex(DIM)
    exact.update(delta)
    hnsw.update(delta)
    names = {name: pid for pid, name in s.names().items()}
    want = [names[f"P{i}"] for i in range(len(centres))]
    answers = [exact.search(centres, 3), hnsw.search(centres, 3), exact.nearest_faces(centres, 4),
               hnsw.nearest_faces(centres, 4), s.search(centres, 4)]
    for kind in ("exact", "hnsw", "server"):  # what a matcher opens: kept in step with the store, then asked
        index = open_index(s, kind)
        assert index.refresh(-1, s.change_id()) == s.names() and len(index) == s.count_faces()
        answers.append(index.search(centres, 3))
    for found in answers:
        assert isinstance(found, Neighbours)
        assert found.people.shape == found.sims.shape == found.faces.shape and found.people.shape[0] == len(centres)
        assert found.people[:, 0].tolist() == want
        assert (np.diff(found.sims, axis=1) <= 1e-6).all()  # nearest first
    by_face = s.search(centres, 4)  # the exact scan names real faces, as the HNSW graph does
    assert np.array_equal(by_face.faces[:, 0], exact.nearest_faces(centres, 4).faces[:, 0])


def test_an_empty_gallery_answers_padding(tmp_path):
    s = SQLiteStore(tmp_path / "gallery.db", "dlib_face", DIM)
    q = np.eye(DIM, dtype=np.float32)[:2]
    for found in (s.search(q, 3), GalleryMatcher(s, threshold=0.5).search(q)):
        assert (found.people == -1).all() and np.isneginf(found.sims).all()
    s.close()


def _members(cls: type) -> set[str]:
    return set(getattr(cls, "__annotations__", {})) | {n for n in vars(cls) if not n.startswith("_")}


def _store_uses(path: Path) -> set[str]:
    """Attributes read from `store` or `self.store` in a module."""
    used = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Attribute):
            v = node.value
            if (isinstance(v, ast.Name) and v.id == "store") or (isinstance(v, ast.Attribute) and v.attr == "store"):
                used.add(node.attr)
    return used


def test_the_store_protocol_declares_what_the_matcher_and_indexes_use(store):
    s, _ = store
    declared = _members(Store)
    used = _store_uses(GALLERY / "matcher.py") | _store_uses(GALLERY / "live_index.py")
    assert used and used <= declared, sorted(used - declared)
    assert all(hasattr(s, name) for name in declared)


def test_the_matcher_does_not_branch_on_the_index_kind():
    tree = ast.parse((GALLERY / "matcher.py").read_text())
    kinds = {"auto", "exact", "hnsw", "server", "postgresql", "sqlite"}
    compared = [c.value for node in ast.walk(tree) if isinstance(node, ast.Compare)
                for c in ast.walk(node) if isinstance(c, ast.Constant) and c.value in kinds]
    assert compared == []
    matcher = next(n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "GalleryMatcher")
    init = next(n for n in matcher.body if isinstance(n, ast.FunctionDef) and n.name == "__init__")
    assert init.args.args[1].annotation is not None and ast.unparse(init.args.args[1].annotation) == "Store"
