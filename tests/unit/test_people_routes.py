"""The people routes over a real SQLite gallery (synthetic embeddings; no model weights): status codes come from
the error's class, a no-op rename is refused, names are normalised as in the CLI."""
from __future__ import annotations

import numpy as np
import pytest
from fastapi.testclient import TestClient

from celebface.gallery import open_gallery
from celebface.gallery.records import NewFace
from celebface.service.app import create_app


class GalleryRecognizer:
    """What the server needs of a recogniser, with a real gallery and no face model (no photo is named)."""

    can_enroll = True

    def __init__(self, gallery) -> None:
        self.gallery = gallery

    def enroll(self, name: str, images: list, **kw):
        raise AssertionError("these tests enrol no photo")

    @property
    def classes(self) -> list[str]:
        return [p.name for p in self.gallery.people()]

    def info(self) -> dict:
        return {"backbone": "none"}

    def predict_pil(self, img, name: str = "image"):
        raise AssertionError("these tests send no photo to name")


@pytest.fixture
def client(tmp_path):
    store = open_gallery(tmp_path)
    rng = np.random.default_rng(0)
    store.add("Ann", [NewFace(rng.normal(size=128).astype(np.float32)) for _ in range(3)], who="setup")
    store.add("Bob", [NewFace(rng.normal(size=128).astype(np.float32))], who="setup")
    with TestClient(create_app(GalleryRecognizer(store), allowed_hosts=("testserver",))) as c:
        yield c
    store.close()


def test_a_no_op_rename_is_refused_and_undo_is_never_stuck(client):
    r = client.patch("/api/people/Bob", json={"name": "Bob"})
    assert r.status_code == 422 and "nothing was changed" in r.json()["detail"]
    undo = client.post("/api/undo")
    assert undo.status_code == 200 and undo.json()["summary"].endswith("(add Bob)")
    assert client.get("/api/people/Bob").status_code == 404
