"""`serve --workers 2` on one gallery: a person enrolled through the API is known to every worker within 2 s,
and forgetting them is seen the same way."""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path
from typing import Optional

import pytest

DATASETS = Path(__file__).resolve().parents[2].parent / "shared" / "datasets"
CELEB5 = DATASETS / "celeb5"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def call(url: str, method: str = "GET", files: list[Path] = (), headers: dict = None, payload: dict = None,
         worker: Optional[list] = None) -> dict:
    """The JSON answer; with `worker`, the answering process's id (X-Celebface-Worker) is appended to it."""
    boundary = uuid.uuid4().hex
    body = json.dumps(payload).encode() if payload is not None else b""
    for f in files:
        body += (f"--{boundary}\r\nContent-Disposition: form-data; name=\"files\"; filename=\"{f.name}\"\r\n"
                 f"Content-Type: image/jpeg\r\n\r\n").encode() + f.read_bytes() + b"\r\n"
    if files:
        body += f"--{boundary}--\r\n".encode()
    req = urllib.request.Request(url, data=body or None, method=method, headers={
        "Connection": "close", **({"Content-Type": f"multipart/form-data; boundary={boundary}"} if files else {}),
        **({"Content-Type": "application/json"} if payload is not None else {}),
        **(headers or {})})
    with urllib.request.urlopen(req, timeout=60) as r:
        if worker is not None:
            worker.append(r.headers["X-Celebface-Worker"])
        return json.loads(r.read())


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    model = tmp_path_factory.mktemp("workers") / "model"
    cli = [sys.executable, "-m", "celebface"]
    subprocess.run([*cli, "init", str(model)], check=True)
    port = free_port()
    env = {**os.environ, "CELEBFACE_TOKEN": "t0ken"}
    proc = subprocess.Popen([*cli, "serve", str(model), "--workers", "2", "--port", str(port), "--threads", "1"],
                            env=env)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while True:
        try:
            call(base + "/api/health", headers={"Authorization": "Bearer t0ken"})
            break
        except (urllib.error.URLError, ConnectionError):
            assert proc.poll() is None and time.monotonic() < deadline, "server did not start"
            time.sleep(0.5)
    yield base
    proc.terminate()
    proc.wait(30)


def people_seen(base: str, n: int = 40) -> list[list[str]]:
    """/api/people from fresh connections (spread over the workers by the kernel) until both workers answered at
    least twice (at most n calls); a test fails if one worker answered them all."""
    seen, workers = [], []
    while len(seen) < n and (len(set(workers)) < 2 or min(map(workers.count, set(workers))) < 2):
        seen.append(call(base + "/api/people", headers={"Authorization": "Bearer t0ken"}, worker=workers)["people"])
    assert len(set(workers)) == 2, f"every answer came from one worker: {workers}"
    return seen


def test_an_enrolment_reaches_every_worker_within_2_s(server):
    auth = {"Authorization": "Bearer t0ken"}
    photos = sorted((CELEB5 / "Madonna").iterdir())[:2]
    out = call(server + "/api/people/Madonna", "POST", photos, auth)
    assert out["faces"] >= 1
    time.sleep(2.0)
    assert all("Madonna" in seen for seen in people_seen(server))
    call(server + "/api/people/Madonna", "DELETE", headers=auth)
    time.sleep(2.0)
    assert all("Madonna" not in seen for seen in people_seen(server))


def test_rename_history_and_undo_over_rest(server):
    auth = {"Authorization": "Bearer t0ken"}
    call(server + "/api/undo", "POST", headers=auth)  # brings back the person forgotten above
    time.sleep(2.0)  # every worker polls the gallery at most 1 s apart
    people = call(server + "/api/people", headers=auth)["people"]
    assert people, "undo restored nobody"
    old = people[0]
    call(server + f"/api/people/{old}", "PATCH", headers=auth, payload={"name": "Renamed Person"})
    assert call(server + "/api/people/Renamed%20Person", headers=auth)["faces"] >= 1
    hist = call(server + "/api/history", headers=auth)
    assert [h["action"] for h in hist[:2]] == ["rename", "undo"] and hist[0]["who"].startswith("api")
    with pytest.raises(urllib.error.HTTPError) as info:
        call(server + "/api/people/Nobody", headers=auth)
    assert info.value.code == 404


def test_changes_need_the_token(server):
    with pytest.raises(urllib.error.HTTPError) as info:
        call(server + "/api/people/Anyone", "DELETE")
    assert info.value.code == 401
