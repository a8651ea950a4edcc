"""The REST API of `celebface serve`: answers on real photos, refusals of bad input, tokens, and a load test.

Uses the session's `trained_model` (tests/conftest.py): dlib_face embeddings trained on Roger_Federer,
Serena_Williams and Virat_Kohli, so it can enrol people.
"""
from __future__ import annotations

import asyncio
import concurrent.futures as cf
import io
import itertools
import shutil
import struct
import time
import zlib
from pathlib import Path
from typing import Any, Callable, Optional

import httpx
import pytest
from fastapi.testclient import TestClient
from PIL import Image

from celebface.recognition.recognizer import Recognizer, load
from conftest import DATASETS, EXTRAS, SPORTS5
from celebface.service.app import create_app
from celebface.service.server import serve_in_thread

TOKEN = "test-token-0123456789"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
#: Photos (one clear face) of people the trained model knows.
KNOWN = [
    ("Roger_Federer", "1517538862724.jpg"),
    ("Roger_Federer", "03775a8e131301d9b53406c8f40fb10b.webp"),
    ("Serena_Williams", "082719-style-serena-williams-nike.jpg"),
    ("Serena_Williams", "NTC_Core_Power_Workout_with_Serena_Williams_1_hd_1600.jpg"),
    ("Virat_Kohli", "0b43460429.jpg"),
    ("Virat_Kohli", "0eb2230fbf.jpg"),
]
NO_FACE = EXTRAS / "no_face" / "cat.jpg"


def photo(person: str, name: str) -> Path:
    return SPORTS5 / person / name


def small_jpeg(path: Path, side: int = 480) -> bytes:
    """The photo shrunk to `side` pixels at most, as JPEG bytes (keeps the load test quick)."""
    with Image.open(path) as img:
        img = img.convert("RGB")
        img.thumbnail((side, side))
        buf = io.BytesIO()
        img.save(buf, "JPEG", quality=90)
    return buf.getvalue()


def png_bomb(side: int = 20000) -> bytes:
    """A valid 1-bit PNG of side x side pixels (400 megapixels for 20000): a few tens of KB on the wire."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    row = b"\x00" * (1 + (side + 7) // 8)  # filter byte + packed bits
    comp = zlib.compressobj(9)
    data = b"".join(comp.compress(row) for _ in range(side)) + comp.flush()
    ihdr = struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", data) + chunk(b"IEND", b"")


class StubRecognizer:
    """Stands in for a model: fixed people, cannot enrol; predict_pil can be made to fail."""

    def __init__(self, fail: bool = False) -> None:
        self.classes = ["Ada", "Bob"]
        self.can_enroll = False
        self.fail = fail

    def info(self) -> dict:
        return {"backbone": "efficientnet_lite0", "classes": self.classes, "can_enroll": False}

    def predict_pil(self, img: Image.Image, name: str = "image") -> dict:
        if self.fail:
            raise RuntimeError("secret internals: /srv/private/path line 42")
        return {"image": name, "width": img.width, "height": img.height, "faces": [], "error": None}


@pytest.fixture(scope="module")
def recognizer(trained_model: Path) -> Recognizer:
    return load(trained_model)


@pytest.fixture(scope="module")
def client(recognizer: Recognizer) -> TestClient:
    return local_client(create_app(recognizer))


def local_client(app: Any, **kw: Any) -> TestClient:
    """A test client that calls the app by a loopback name (the server refuses other Host names)."""
    return TestClient(app, base_url="http://localhost", **kw)


def post_photo(client: Any, data: bytes, name: str = "photo.jpg", mime: str = "image/jpeg",
               headers: Optional[dict] = None) -> Any:
    return client.post("/api/predict", files={"file": (name, data, mime)}, headers=headers or {})


def assert_error(response: Any, status: int, *words: str) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"detail"} and isinstance(body["detail"], str)
    assert "Traceback" not in response.text
    for word in words:
        assert word.lower() in body["detail"].lower(), body["detail"]


def test_predict_names_a_known_person(client: TestClient) -> None:
    path = photo("Roger_Federer", "1517538862724.jpg")
    r = post_photo(client, path.read_bytes(), name=path.name)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["image"] == path.name and body["error"] is None
    assert (body["width"], body["height"]) == Image.open(path).size
    face = body["faces"][0]
    assert face["name"] == "Roger_Federer"
    x1, y1, x2, y2 = face["box"]
    assert 0 <= x1 < x2 <= body["width"] and 0 <= y1 < y2 <= body["height"]
    assert 0 < face["confidence"] <= 1 and face["top"][0][0] == "Roger_Federer"
    assert set(face) >= {"box", "name", "confidence", "score", "top", "detector_prob"}


def test_predict_webp_and_photo_without_face(client: TestClient) -> None:
    webp = photo("Roger_Federer", "03775a8e131301d9b53406c8f40fb10b.webp")
    r = post_photo(client, webp.read_bytes(), name=webp.name, mime="image/webp")
    assert r.status_code == 200 and r.json()["faces"][0]["name"] == "Roger_Federer"
    r = post_photo(client, NO_FACE.read_bytes(), name="cat.jpg")
    assert r.status_code == 200 and r.json()["faces"] == []


def test_people_and_health(client: TestClient, recognizer: Recognizer) -> None:
    people = client.get("/api/people").json()
    assert people["people"] == recognizer.classes == ["Roger_Federer", "Serena_Williams", "Virat_Kohli"]
    assert people["count"] == 3 and people["can_enroll"] is True
    health = client.get("/api/health").json()
    assert health["status"] == "ok" and health["people"] == 3 and health["token_required"] is False
    assert health["max_upload_bytes"] == 10 * 1024 * 1024 and health["model"]["backbone"] == "dlib_face"


def test_page_static_files_and_docs(client: TestClient) -> None:
    page = client.get("/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "/static/app.js" in page.text and "http" not in page.text.split("<body", 1)[0].replace(
        'name="viewport"', "")  # nothing loaded from another site
    assert "default-src 'self'" in page.headers["content-security-policy"]
    js = client.get("/static/app.js")
    assert js.status_code == 200 and "/api/predict" in js.text
    assert client.get("/static/style.css").status_code == 200
    docs = client.get("/docs")
    assert docs.status_code == 200 and "cdn" not in docs.text.lower()  # the docs work offline too
    assert "/docs-assets/swagger-ui-bundle.js" in docs.text
    assert client.get("/docs-assets/swagger-ui-bundle.js").status_code == 200
    paths = client.get("/openapi.json").json()["paths"]
    assert {"/api/predict", "/api/people", "/api/health", "/api/people/{name}"} <= set(paths)


@pytest.mark.parametrize("name,data", [
    ("notes.txt", b"hello, I am not a photo"),
    ("empty.jpg", b""),
    ("fake.png", b"\x89PNG\r\n\x1a\n" + b"\x00" * 100),
])
def test_not_an_image_is_415(client: TestClient, name: str, data: bytes) -> None:
    assert_error(post_photo(client, data, name=name), 415, "not an image")


def test_truncated_photo_is_415(client: TestClient) -> None:
    data = photo("Virat_Kohli", "0b43460429.jpg").read_bytes()
    assert_error(post_photo(client, data[: len(data) // 3], name="cut.jpg"), 415, "cut.jpg")


def test_upload_over_the_limit_is_413(recognizer: Recognizer) -> None:
    small = local_client(create_app(recognizer, max_upload_bytes=100_000))
    big = photo("Serena_Williams", "09Hunter1-superJumbo.jpg").read_bytes()  # 800 KB
    assert len(big) > 100_000
    assert_error(post_photo(small, big), 413, "limit")

    # No Content-Length (chunked): the body is counted while it streams in and cut off at the limit.
    sent = []

    def body():
        yield b'--XyZ\r\nContent-Disposition: form-data; name="file"; filename="a.jpg"\r\n\r\n'
        for _ in range(100):
            sent.append(1)
            yield b"\xff" * 10_000
        yield b"\r\n--XyZ--\r\n"

    r = small.post("/api/predict", content=body(), headers={"Content-Type": "multipart/form-data; boundary=XyZ"})
    assert "content-length" not in r.request.headers
    assert_error(r, 413, "limit")
    # A photo under the limit still works on the same app.
    ok = post_photo(small, small_jpeg(photo("Virat_Kohli", "0b43460429.jpg")))
    assert ok.status_code == 200 and ok.json()["faces"][0]["name"] == "Virat_Kohli"


def test_decompression_bomb_is_413(client: TestClient) -> None:
    bomb = png_bomb()
    assert len(bomb) < 200_000
    assert_error(post_photo(client, bomb, name="bomb.png", mime="image/png"), 413, "bomb.png")
    assert client.get("/api/health").status_code == 200


def test_too_many_pixels_is_413(recognizer: Recognizer) -> None:
    strict = local_client(create_app(recognizer, max_pixels=100_000))
    path = photo("Roger_Federer", "1517538862724.jpg")  # 710x400
    assert_error(post_photo(strict, path.read_bytes(), name=path.name), 413, "pixels")


def test_missing_field_is_422(client: TestClient) -> None:
    data = small_jpeg(photo("Virat_Kohli", "0b43460429.jpg"))
    r = client.post("/api/predict", files={"photo": ("a.jpg", data, "image/jpeg")})
    assert_error(r, 422, "'file'")
    assert_error(client.post("/api/predict"), 422, "'file'")


def test_token_is_required_on_the_api_only(recognizer: Recognizer) -> None:
    locked = local_client(create_app(recognizer, token=TOKEN))
    data = small_jpeg(photo("Virat_Kohli", "0b43460429.jpg"))
    for path in ("/api/health", "/api/people"):
        assert_error(locked.get(path), 401, "token")
        assert_error(locked.get(path, headers={"Authorization": "Bearer nope"}), 401, "wrong")
        assert locked.get(path, headers=AUTH).status_code == 200
    r = post_photo(locked, data)
    assert_error(r, 401, "token")
    assert r.headers["www-authenticate"] == "Bearer"
    assert_error(post_photo(locked, data, headers={"Authorization": TOKEN}), 401)  # no "Bearer"
    assert_error(locked.post("/api/people/X", files=[("files", ("a.jpg", data, "image/jpeg"))]), 401)
    ok = post_photo(locked, data, headers=AUTH)
    assert ok.status_code == 200 and ok.json()["faces"][0]["name"] == "Virat_Kohli"
    # The page, its files and the docs stay public: the page asks for the token.
    for path in ("/", "/static/app.js", "/docs", "/openapi.json"):
        assert locked.get(path).status_code == 200, path


def asgi_call(app: Any, method: str, path: str, headers: list[tuple[bytes, bytes]]) -> tuple[int, int]:
    """Call the ASGI app directly; returns (status, how many times it asked for the body)."""
    reads, status = [], []

    async def receive() -> dict:
        reads.append(1)
        return {"type": "http.request", "body": b"x" * 1000, "more_body": False}

    async def send(message: dict) -> None:
        if message["type"] == "http.response.start":
            status.append(message["status"])

    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method,
             "scheme": "http", "path": path, "raw_path": path.encode(), "query_string": b"", "root_path": "",
             "headers": [(b"host", b"localhost")] + headers, "client": ("127.0.0.1", 1234), "server": ("127.0.0.1", 80)}
    asyncio.run(app(scope, receive, send))
    return status[0], len(reads)


def test_refusals_do_not_read_the_body() -> None:
    """A wrong token or a too-large Content-Length is answered before a byte of the body is read."""
    app = create_app(StubRecognizer(), token=TOKEN, max_upload_bytes=1000)
    form = (b"content-type", b"multipart/form-data; boundary=b")
    assert asgi_call(app, "POST", "/api/predict", [form, (b"content-length", b"5000000")]) == (401, 0)
    auth = (b"authorization", f"Bearer {TOKEN}".encode())
    assert asgi_call(app, "POST", "/api/predict", [form, auth, (b"content-length", b"5000000")]) == (413, 0)


def test_errors_never_leak_internals() -> None:
    app = create_app(StubRecognizer(fail=True))
    c = local_client(app, raise_server_exceptions=False)
    data = small_jpeg(photo("Virat_Kohli", "0b43460429.jpg"))
    r = post_photo(c, data)
    assert_error(r, 500, "internal error")
    assert "secret" not in r.text and "/srv/private" not in r.text
    assert c.get("/api/health").status_code == 200  # still serving
    assert_error(c.get("/api/nothing-here"), 404)
    assert_error(c.delete("/api/people"), 405)


def test_enrol_refused_by_a_model_that_cannot(tmp_path: Path) -> None:
    c = local_client(create_app(StubRecognizer()))
    data = small_jpeg(photo("Virat_Kohli", "0b43460429.jpg"))
    r = c.post("/api/people/Someone", files=[("files", ("a.jpg", data, "image/jpeg"))])
    assert_error(r, 409, "dlib_face")


def test_enrol_a_new_person(trained_model: Path, tmp_path: Path) -> None:
    model = tmp_path / "model"
    shutil.copytree(trained_model, model)  # enrolment rewrites the bundle: keep the session's model intact
    c = local_client(create_app(model))
    ms = SPORTS5 / "Maria_Sharapova"
    sharapova = [ms / "12009b578d60268f36fcd7f2dcf7a04d.jpg",
                 ms / "166-1666011_maria-sharapova-wallpaper-hd-tennis-maria-sharapova-4k.jpg",
                 ms / "183821-Maria_Sharapova-blonde-women-athletes-smiling-748x997.jpg"]
    new = ms / "2-70.jpg"
    assert post_photo(c, small_jpeg(new)).json()["faces"][0]["name"] == "unknown"

    files = [("files", (p.name, small_jpeg(p, 640), "image/jpeg")) for p in sharapova]
    files.append(("files", ("cat.jpg", NO_FACE.read_bytes(), "image/jpeg")))
    r = c.post("/api/people/Maria_Sharapova", files=files)
    assert r.status_code == 200, r.text
    summary = r.json()
    assert summary["name"] == "Maria_Sharapova" and summary["updated"] is False and summary["faces"] == 3
    assert summary["skipped"] == ["cat.jpg: no face found"]
    assert "Maria_Sharapova" in c.get("/api/people").json()["people"]
    assert post_photo(c, small_jpeg(new)).json()["faces"][0]["name"] == "Maria_Sharapova"
    assert post_photo(c, small_jpeg(photo("Virat_Kohli", "0b43460429.jpg"))).json()["faces"][0]["name"] == \
        "Virat_Kohli"

    assert_error(c.post("/api/people/unknown", files=files[:1]), 422, "name")
    assert_error(c.post("/api/people/Nobody", files=[files[-1]]), 422, "no usable face")
    assert_error(c.post("/api/people/Nobody", files=[("files", ("x.txt", b"text", "text/plain"))]), 415, "x.txt")
    assert_error(c.post("/api/people/Nobody"), 422, "'files'")
    assert_error(c.post("/api/people/" + "x" * 201, files=files[:1]), 422, "200 characters")  # the CLI's limit
    assert_error(c.post("/api/people/Many", files=files[:1] * 21), 422, "at most 20")
    assert c.get("/api/people").json()["people"] == ["Roger_Federer", "Serena_Williams", "Virat_Kohli",
                                                     "Maria_Sharapova"]


def percentile(values: list[float], q: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, max(0, round(q / 100 * (len(s) - 1))))]


def test_load_real_server_16_concurrent_clients(recognizer: Recognizer) -> None:
    """224 requests, 16 at a time, against uvicorn on 127.0.0.1: good photos mixed with bad input."""
    limit = 1_000_000
    app = create_app(recognizer, token=TOKEN, max_upload_bytes=limit)
    good = [(person, name, small_jpeg(photo(person, name))) for person, name in KNOWN]
    cat = small_jpeg(NO_FACE)
    bomb = png_bomb()
    huge = b"\xff\xd8" + b"\x00" * (limit + 50_000)

    def chunked_huge():
        yield b'--XyZ\r\nContent-Disposition: form-data; name="file"; filename="big.jpg"\r\n\r\n'
        for _ in range(40):
            yield b"\x00" * 50_000
        yield b"\r\n--XyZ--\r\n"

    Check = Callable[[httpx.Response], None]
    good_photos = itertools.cycle(good)

    def expect_name(person: str) -> Check:
        def check(r: httpx.Response) -> None:
            assert r.status_code == 200, r.text
            faces = r.json()["faces"]
            assert faces and faces[0]["name"] == person, (person, faces)
        return check

    def expect(status: int) -> Check:
        def check(r: httpx.Response) -> None:
            assert r.status_code == status, r.text
            assert r.headers["content-type"] == "application/json"
            assert ("detail" in r.json()) == (status >= 400)
        return check

    def next_good() -> tuple[str, dict, Check]:
        person, name, data = next(good_photos)
        return "good", {"method": "POST", "url": "/api/predict", "headers": AUTH,
                        "files": {"file": (name, data, "image/jpeg")}}, expect_name(person)

    def page(r: httpx.Response) -> None:
        assert r.status_code == 200 and "/static/app.js" in r.text

    def no_face(r: httpx.Response) -> None:
        assert r.status_code == 200 and r.json()["faces"] == []

    bad = [
        ("not_image", {"method": "POST", "url": "/api/predict", "headers": AUTH,
                       "files": {"file": ("a.txt", b"not a photo", "text/plain")}}, expect(415)),
        ("too_big", {"method": "POST", "url": "/api/predict", "headers": AUTH,
                     "files": {"file": ("big.jpg", huge, "image/jpeg")}}, expect(413)),
        ("too_big_chunked", {"method": "POST", "url": "/api/predict",
                             "headers": {**AUTH, "Content-Type": "multipart/form-data; boundary=XyZ"},
                             "content": chunked_huge}, expect(413)),
        ("bomb", {"method": "POST", "url": "/api/predict", "headers": AUTH,
                  "files": {"file": ("bomb.png", bomb, "image/png")}}, expect(413)),
        ("no_token", {"method": "POST", "url": "/api/predict",
                      "files": {"file": ("a.jpg", good[0][2], "image/jpeg")}}, expect(401)),
        ("wrong_token", {"method": "GET", "url": "/api/people", "headers": {"Authorization": "Bearer x"}},
         expect(401)),
        ("missing_field", {"method": "POST", "url": "/api/predict", "headers": AUTH,
                           "files": {"photo": ("a.jpg", good[0][2], "image/jpeg")}}, expect(422)),
        ("health", {"method": "GET", "url": "/api/health", "headers": AUTH}, expect(200)),
        ("people", {"method": "GET", "url": "/api/people", "headers": AUTH}, expect(200)),
        ("no_face", {"method": "POST", "url": "/api/predict", "headers": AUTH,
                     "files": {"file": ("cat.jpg", cat, "image/jpeg")}}, no_face),
        ("page", {"method": "GET", "url": "/"}, page),
    ]
    rounds, per_round = 14, 16
    plan = []
    for _ in range(rounds):
        plan += [next_good() for _ in range(per_round - len(bad))] + bad
    assert len(plan) >= 200

    def one(client: httpx.Client, item: tuple[str, dict, Check]) -> tuple[str, float, Optional[str]]:
        kind, req, check = item
        req = dict(req)
        if callable(req.get("content")):
            req["content"] = req["content"]()
        t0 = time.perf_counter()
        try:
            r = client.request(**req)
            seconds = time.perf_counter() - t0
            check(r)
            return kind, seconds, None
        except Exception as exc:  # collected and reported below, so one failure does not hide the others
            return kind, time.perf_counter() - t0, f"{kind}: {type(exc).__name__}: {exc}"

    with serve_in_thread(app) as url:
        limits = httpx.Limits(max_connections=16, max_keepalive_connections=16)
        with httpx.Client(base_url=url, timeout=300, limits=limits) as client:
            start = time.perf_counter()
            with cf.ThreadPoolExecutor(16) as pool:
                results = list(pool.map(lambda item: one(client, item), plan))
            wall = time.perf_counter() - start
            assert client.get("/api/health", headers=AUTH).status_code == 200  # still serving

    failures = [err for _, _, err in results if err]
    assert not failures, f"{len(failures)} of {len(results)} requests failed:\n" + "\n".join(failures[:10])
    assert len(results) == len(plan)  # none lost
    all_lat = [s for _, s, _ in results]
    good_lat = [s for kind, s, _ in results if kind == "good"]
    bad_lat = [s for kind, s, _ in results if kind not in ("good", "no_face")]
    print(f"\nload test: {len(results)} requests ({len(good_lat)} good photos), 16 concurrent clients, "
          f"{wall:.1f}s -> {len(results) / wall:.1f} requests/s, {len(good_lat) / wall:.1f} photos/s")
    for label, lat in (("all", all_lat), ("good photos", good_lat), ("bad input/info", bad_lat)):
        p50, p95 = 1000 * percentile(lat, 50), 1000 * percentile(lat, 95)
        print(f"  latency {label:15} p50 {p50:7.0f} ms   p95 {p95:7.0f} ms")
