"""`DELETE /api/people/{name}?purge=true` (issue 33 #15) on a real empty model: it needs the token and refuses other
sites as every change does, erases the person for good, and `POST /api/undo` then says it cannot bring them back."""
from __future__ import annotations

import pytest

from tests.unit.test_gallery_store import faces


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    from fastapi.testclient import TestClient

    from celebface.recognition.init_model import init_model
    from celebface.recognition.recognizer import load
    from celebface.service.app import create_app

    model = init_model(tmp_path_factory.mktemp("erase") / "model", identity="dlib")
    rec = load(model, "cpu")
    rec.gallery.add("Ann", faces(3, 1))
    rec.gallery.add("Bob", faces(2, 2))
    rec.gallery.forget("Bob")
    return TestClient(create_app(rec, token="secret", allowed_hosts=("testserver",))), rec.gallery


AUTH = {"Authorization": "Bearer secret"}


def test_purge_needs_the_token_and_the_same_site(client):
    c, gallery = client
    assert c.delete("/api/people/Ann?purge=true").status_code == 401
    assert c.delete("/api/people/Ann?purge=true", headers={**AUTH, "Origin": "http://evil.example"}).status_code == 403
    assert [p.name for p in gallery.people()] == ["Ann"]


def test_purge_erases_for_good_and_undo_says_so(client):
    c, gallery = client
    r = c.delete("/api/people/Bob", params={"purge": "true"}, headers=AUTH)  # Bob is in the trash only
    assert r.status_code == 200, r.text
    change = r.json()
    assert change["action"] == "purge" and "erased Bob for good" in change["summary"]
    assert c.delete("/api/people/Bob?purge=true", headers=AUTH).status_code == 404
    r = c.post("/api/undo", headers=AUTH)  # the purge and Bob's changes are skipped: Ann's add is undone
    assert r.status_code == 200 and f"change {change['id']} (purge Bob) cannot be undone" in r.json()["summary"]
    r = c.post("/api/undo", headers=AUTH)
    assert r.status_code == 422 and "nothing to undo" in r.json()["detail"]
    assert gallery.people() == [] and gallery.count_faces() == 0
