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


@pytest.mark.parametrize("method, path, body, status, words", [
    ("get", "/api/people/Zed", None, 404, "no person named 'Zed'"),
    ("delete", "/api/people/Zed", None, 404, "no person named 'Zed'"),
    ("patch", "/api/people/Zed", {"name": "Y"}, 404, "no person named 'Zed'"),
    ("patch", "/api/people/Ann", {"name": "Bob"}, 409, "already in the gallery"),
    ("patch", "/api/people/Ann", {"name": "BOB"}, 409, "only in case or width"),
    ("patch", "/api/people/Ann", {"name": "a/b"}, 422, "slash"),
])
def test_status_comes_from_the_errors_class(client, method, path, body, status, words):
    r = client.request(method, path, json=body)
    assert r.status_code == status and words in r.json()["detail"], r.text


def test_status_of_each_error_class():
    from celebface.errors import EnrollError, GalleryError, GalleryUnavailable, NameTaken, PersonNotFound
    from celebface.service.status import http_status

    assert [http_status(e("x")) for e in (PersonNotFound, NameTaken, GalleryUnavailable, GalleryError, EnrollError)] \
        == [404, 409, 503, 422, 422]


def test_the_people_routes_live_in_one_module_and_the_context_in_its_own(tmp_path):
    import threading

    from celebface.service.budget import PixelBudget
    from celebface.service.context import ServiceContext
    from celebface.service.routes_people import people_routes
    from celebface.service.routes_photos import photo_routes

    ctx = ServiceContext(GalleryRecognizer(open_gallery(tmp_path)), None, None, 1024, 1024,
                         threading.BoundedSemaphore(1), PixelBudget(1024))
    people = {(m, r.path) for r in people_routes(ctx, []).routes for m in r.methods}
    assert {("GET", "/api/people"), ("POST", "/api/people/{name}"), ("GET", "/api/people/{name}"),
            ("PATCH", "/api/people/{name}"), ("DELETE", "/api/people/{name}")} <= people
    assert not any(r.path.startswith("/api/people") for r in photo_routes(ctx, []).routes)
    ctx.rec.gallery.close()


def test_names_are_normalised_and_limited_as_in_the_cli(tmp_path):
    """NFD finds the NFC person; the REST name limit is the CLI's (200), not 100."""
    import io
    import unicodedata

    from PIL import Image

    from celebface.gallery.enrol import EnrolReport
    from celebface.gallery.names import MAX_NAME

    store = open_gallery(tmp_path)
    rng = np.random.default_rng(0)

    def enroll(name: str, images: list) -> EnrolReport:
        change = store.add(name, [NewFace(rng.normal(size=128).astype(np.float32)) for _ in images])
        return EnrolReport(name, False, len(images), len(images), change=change)

    photo = io.BytesIO()
    Image.new("RGB", (32, 32)).save(photo, format="PNG")
    files = [("files", ("a.png", photo.getvalue(), "image/png"))]
    with TestClient(create_app(GalleryRecognizer(store), enroll=enroll, allowed_hosts=("testserver",))) as c:
        nfc = unicodedata.normalize("NFC", "Zoë")
        assert c.post(f"/api/people/{nfc}", files=files).status_code == 200
        assert c.get(f"/api/people/{unicodedata.normalize('NFD', 'Zoë')}").json()["name"] == nfc
        assert MAX_NAME == 200
        assert c.post(f"/api/people/{'n' * 150}", files=files).status_code == 200
        long = c.post(f"/api/people/{'n' * 201}", files=files)
        assert long.status_code == 422 and "longer than 200 characters" in long.json()["detail"]
    assert sorted(len(p.name) for p in store.people()) == [3, 150]
    store.close()


def test_compare_holds_both_photos_in_the_pixel_budget(tmp_path):
    """POST /api/compare decodes under the server's pixel budget (it held only a slot before)."""
    import io
    import threading

    from fastapi import FastAPI
    from PIL import Image

    from celebface.service.budget import PixelBudget
    from celebface.service.context import ServiceContext
    from celebface.service.routes_people import people_routes

    seen: list[int] = []

    from celebface.faces.identity import LEGACY_IDENTITY, get_identity

    class Embedder(GalleryRecognizer):
        identity = get_identity(LEGACY_IDENTITY)  # whose pair threshold compare uses

        def face_embeddings(self, img):
            seen.append(ctx.budget.used)
            return [object()], np.ones((1, 128), np.float32)

    ctx = ServiceContext(Embedder(open_gallery(tmp_path)), None, None, 1 << 20, 1 << 24,
                         threading.BoundedSemaphore(2), PixelBudget(1 << 24))
    app = FastAPI()
    app.include_router(people_routes(ctx, []))

    def png(w: int, h: int) -> bytes:
        buf = io.BytesIO()
        Image.new("RGB", (w, h)).save(buf, format="PNG")
        return buf.getvalue()

    r = TestClient(app).post("/api/compare", files={"a": ("a.png", png(100, 80)), "b": ("b.png", png(50, 40))})
    assert r.status_code == 200 and r.json()["same"] is True
    assert seen == [100 * 80 + 50 * 40] * 2 and ctx.budget.used == 0
    ctx.rec.gallery.close()
