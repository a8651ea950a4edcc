"""The people REST API (/api/persons...) on a real empty model whose gallery holds real archive faces (dlib vectors
of glint12 crops): group, list, faces, name, split, merge refused after a split, move, suggestions, undo; every
change needs the token and refuses other sites."""
from __future__ import annotations

import numpy as np
import pytest

from celebface.gallery.sightings import Sighting
from tests.unit.test_gallery_people import GLINT, _glint_vectors

AUTH = {"Authorization": "Bearer secret"}


@pytest.fixture
def client(tmp_path):
    if not GLINT.is_dir():
        pytest.skip("sample data not found")
    from fastapi.testclient import TestClient

    from celebface.recognition.init_model import init_model
    from celebface.recognition.recognizer import load
    from celebface.service.app import create_app

    rec = load(init_model(tmp_path / "model", identity="dlib"), "cpu")
    vecs, labels = _glint_vectors()
    keep = np.concatenate([np.nonzero(labels == k)[0][:5] for k in range(2)])
    rec.gallery.add_sightings([Sighting(f"sha{i}", f"p{i}.jpg", None, 0, None, None, None, None) for i in keep],
                              vecs[keep])
    return TestClient(create_app(rec, token="secret", allowed_hosts=("testserver",)))


def test_people_are_grouped_named_split_and_undone_over_rest(client):
    assert client.post("/api/persons/group", json={}).status_code == 401
    assert client.post("/api/persons/group", json={}, headers={**AUTH, "Origin": "http://evil.example"}).status_code \
        == 403
    r = client.post("/api/persons/group", json={"full": False}, headers=AUTH)
    assert r.status_code == 200 and r.json()["action"] == "group", r.text
    people = client.get("/api/persons", headers=AUTH).json()
    assert [p["sightings"] for p in people] == [5, 5] and all(p["name"] is None for p in people)
    a, b = people[0]["id"], people[1]["id"]
    assert client.patch(f"/api/persons/{a}", json={"name": "Ann"}, headers=AUTH).status_code == 200
    assert client.patch(f"/api/persons/{b}", json={"name": "Ann"}, headers=AUTH).status_code == 409
    faces = [f["face"] for f in client.get(f"/api/persons/{a}/faces", headers=AUTH).json()]
    r = client.post(f"/api/persons/{a}/split", json={"faces": faces[:2]}, headers=AUTH)
    assert r.status_code == 200, r.text
    new = [p["id"] for p in client.get("/api/persons", headers=AUTH).json() if p["id"] not in (a, b)][0]
    r = client.post(f"/api/persons/{a}/merge", json={"other": new}, headers=AUTH)
    assert r.status_code == 422 and "split apart" in r.json()["detail"]
    r = client.post("/api/faces/move", json={"faces": faces[2:3], "person": None}, headers=AUTH)
    assert r.status_code == 200 and "moved 1 face(s)" in r.json()["summary"]
    sugg = client.get("/api/persons/suggestions", headers=AUTH).json()
    assert [n for _, n in sugg["to_name"]] == [5, 2, 1]
    assert client.get("/api/persons/999/faces", headers=AUTH).status_code == 404
    for _ in range(3):  # move, split, name
        assert client.post("/api/undo", headers=AUTH).status_code == 200
    people = client.get("/api/persons", headers=AUTH).json()
    assert sorted(p["sightings"] for p in people) == [5, 5] and all(p["name"] is None for p in people)


def test_who_is_this_answers_each_face_of_an_uploaded_photo_with_its_person(client, tmp_path):
    import io

    from PIL import Image

    from tests.e2e.test_people_page import _padded
    from tests.unit.test_gallery_people import PER_PERSON

    assert client.post("/api/persons/group", json={"full": False}, headers=AUTH).status_code == 200
    folder = sorted(p for p in GLINT.iterdir() if p.is_dir())[0]  # the first person: 5 archive faces, now a person
    photo = _padded(sorted(folder.iterdir())[PER_PERSON - 1], tmp_path / "who.png").read_bytes()
    upload = {"file": ("who.png", photo, "image/png")}
    assert client.post("/api/persons/who", files=upload).status_code == 401
    assert client.post("/api/persons/who", files=upload, headers={**AUTH, "Origin": "http://evil.example"}
                       ).status_code == 403
    r = client.post("/api/persons/who", files=upload, headers=AUTH)
    assert r.status_code == 200, r.text
    (face,) = r.json()["faces"]
    first = [p["id"] for p in client.get("/api/persons", headers=AUTH).json()  # the person of folder's faces p0-p4
             if "p0.jpg" in {f["path"] for f in client.get(f"/api/persons/{p['id']}/faces", headers=AUTH).json()}]
    assert [face["person"]] == first and face["name"] is None and face["similarity"] > 0.9
    assert r.json()["width"] == 224 and len(face["box"]) == 4
    blank = io.BytesIO()
    Image.new("RGB", (200, 200), (90, 90, 90)).save(blank, "PNG")
    r = client.post("/api/persons/who", files={"file": ("blank.png", blank.getvalue(), "image/png")}, headers=AUTH)
    assert r.status_code == 200 and r.json()["faces"] == []
    r = client.post("/api/persons/who", files={"file": ("x.png", b"not a photo", "image/png")}, headers=AUTH)
    assert r.status_code == 415
