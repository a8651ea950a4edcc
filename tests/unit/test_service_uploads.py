"""Uploads the server refuses at once: a photo sent as a video (415 before a job exists), and a clustering job's
enrol route asked for '.' (404 naming no folder of the server)."""
from __future__ import annotations

import io
import struct
import time
import zlib
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from PIL import Image

from celebface.gallery import open_gallery
from celebface.service.app import create_app
from test_people_routes import GalleryRecognizer


def big_png(side: int) -> bytes:
    """A valid 1-bit PNG of side x side pixels, a few tens of KB on the wire."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    comp = zlib.compressobj(9)
    row = b"\x00" * (1 + (side + 7) // 8)
    data = b"".join(comp.compress(row) for _ in range(side)) + comp.flush()
    ihdr = struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", data) + chunk(b"IEND", b"")


def jpeg() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (320, 240), "gray").save(buf, format="JPEG")
    return buf.getvalue()


@pytest.fixture
def client(tmp_path):
    store = open_gallery(tmp_path)
    with TestClient(create_app(GalleryRecognizer(store), allowed_hosts=("testserver",))) as c:
        yield c
    store.close()


@pytest.mark.parametrize("name, data", [("photo.jpg", jpeg()), ("clip.mp4", jpeg()), ("huge.png", big_png(30000))],
                         ids=["jpeg", "jpeg-named-mp4", "png-30000x30000"])
def test_a_photo_sent_as_a_video_is_415_at_once(client, name, data):
    r = client.post("/api/videos", files={"file": (name, data, "application/octet-stream")})
    assert r.status_code == 415, r.text
    assert "is a photo, not a video" in r.json()["detail"] and "/tmp" not in r.json()["detail"]


def test_enrolling_cluster_dot_is_404_without_the_servers_paths(client):
    blank = io.BytesIO()
    Image.new("RGB", (64, 64), "white").save(blank, format="PNG")
    job = client.post("/api/cluster", files=[("files", ("a.png", blank.getvalue(), "image/png"))],
                      data={"min_faces": "1"}).json()
    deadline = time.monotonic() + 300
    while job["status"] == "running" and time.monotonic() < deadline:
        time.sleep(0.5)
        job = client.get(f"/api/cluster/{job['id']}").json()
    assert job["status"] == "done", job
    for cluster in ("%2E", "%2E%2E", "nope"):  # "/./" as curl --path-as-is sends it (httpx would drop it)
        r = client.post(f"/api/cluster/{job['id']}/{cluster}/enrol", data={"name": "Ann"})
        assert r.status_code == 404, r.text
        assert "celebface-clusters" not in r.text and str(Path("/tmp")) not in r.text
