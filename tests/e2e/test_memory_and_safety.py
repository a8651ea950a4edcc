"""The server as a separate process: memory of huge photos, Host/Origin checks, the token from a file, slow
uploads, and a model changed by another process (a CLI enrolment) seen by a running server."""
from __future__ import annotations

import io
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Iterator

import httpx
import pytest
from PIL import Image

from conftest import HELD_OUT, photos

TOKEN = "file-token-0123456789"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def mb(pid: int, key: str) -> int:
    with open(f"/proc/{pid}/status") as f:
        return int(next(line for line in f if line.startswith(key)).split()[1]) // 1024


@pytest.fixture(scope="module")
def server(trained_model: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, int, Path]]:
    model = tmp_path_factory.mktemp("served") / "model"
    shutil.copytree(trained_model, model)
    token_file = model.parent / "token"
    token_file.write_text(TOKEN + "\n")
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "celebface.cli", "serve", str(model), "--port", str(port),
                             "--token-file", str(token_file)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}"
    for _ in range(900):
        try:
            httpx.get(url + "/", timeout=1)
            break
        except httpx.HTTPError:
            assert proc.poll() is None, proc.stderr.read().decode()
            time.sleep(0.2)
    yield url, proc.pid, model
    proc.terminate()
    proc.wait(30)


def auth(**extra: str) -> dict:
    return {"Authorization": f"Bearer {TOKEN}", **extra}


def test_token_comes_from_the_file_and_is_not_in_argv(server) -> None:
    url, pid, _ = server
    assert httpx.get(url + "/api/health").status_code == 401
    assert httpx.get(url + "/api/health", headers=auth()).status_code == 200
    assert TOKEN not in Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")


def test_a_79_megapixel_png_does_not_cost_half_a_gigabyte(server) -> None:
    url, pid, _ = server
    buf = io.BytesIO()
    Image.new("RGB", (10000, 7900), (90, 140, 200)).save(buf, "PNG", compress_level=9)
    assert len(buf.getvalue()) < 1_000_000
    before = mb(pid, "VmRSS")
    peak_before = mb(pid, "VmHWM")
    r = httpx.post(url + "/api/predict", files={"file": ("big.png", buf.getvalue())}, headers=auth(), timeout=300)
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["width"], body["height"]) == (10000, 7900) and body["faces"] == []
    time.sleep(1.5)
    assert mb(pid, "VmRSS") - before < 500
    assert mb(pid, "VmHWM") - max(before, peak_before) < 500


def test_boxes_of_a_photo_decoded_smaller_are_in_full_size_pixels(server) -> None:
    url, _, _ = server
    src = Image.open(photos("Virat_Kohli")[-1]).convert("RGB")
    big = src.resize((src.width * 9000 // max(src.size), src.height * 9000 // max(src.size)))
    buf = io.BytesIO()
    big.save(buf, "JPEG", quality=85)
    r = httpx.post(url + "/api/predict", files={"file": ("big.jpg", buf.getvalue())}, headers=auth(), timeout=300)
    small = io.BytesIO()
    src.save(small, "JPEG", quality=95)
    r0 = httpx.post(url + "/api/predict", files={"file": ("s.jpg", small.getvalue())}, headers=auth(), timeout=60)
    f, f0 = r.json()["faces"][0], r0.json()["faces"][0]
    k = big.width / src.width
    assert (r.json()["width"], r.json()["height"]) == big.size
    assert all(abs(a - b * k) < 0.06 * (f0["box"][2] - f0["box"][0]) * k for a, b in zip(f["box"], f0["box"]))
    assert f["name"] == f0["name"]


def test_cross_site_and_rebinding_requests_are_refused(server) -> None:
    url, _, _ = server
    data = photos("Virat_Kohli")[0].read_bytes()
    evil = httpx.post(url + "/api/people/Mallory", files={"files": ("a.jpg", data)},
                      headers=auth(Origin="http://evil.example"))
    assert evil.status_code == 403 and "cross-site" in evil.json()["detail"]
    rebound = httpx.get(url + "/api/health", headers=auth(Host="evil.example:80"))
    assert rebound.status_code == 400
    people = httpx.get(url + "/api/people", headers=auth()).json()["people"]
    assert "Mallory" not in people


def test_a_slow_upload_is_cut_off(server) -> None:
    url, _, _ = server
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=60) as s:
        s.sendall(f"POST /api/predict HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {TOKEN}\r\n"
                  "Content-Type: multipart/form-data; boundary=b\r\nContent-Length: 100000\r\n\r\n--b\r\n".encode())
        t0 = time.monotonic()
        reply = b""
        while b"}" not in reply:  # the status line, the headers, then the JSON body
            chunk = s.recv(4096)
            if not chunk:
                break
            reply += chunk
    text = reply.decode(errors="replace")
    assert text.startswith("HTTP/1.1 408"), text[:200]  # the README's 408, not a silently closed connection
    assert '"detail":"the upload was too slow; send it again"' in text
    assert time.monotonic() - t0 < 59


def test_a_cli_enrolment_is_seen_by_the_running_server(server) -> None:
    url, _, model = server
    maria = photos(HELD_OUT)
    new = maria[0].read_bytes()
    before = httpx.post(url + "/api/predict", files={"file": ("m.jpg", new)}, headers=auth(), timeout=60).json()
    assert before["faces"][0]["name"] == "unknown"
    out = subprocess.run([sys.executable, "-m", "celebface.cli", "enroll", str(model), *map(str, maria[12:18]),
                          "--name", HELD_OUT], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    time.sleep(1.2)
    after = httpx.post(url + "/api/predict", files={"file": ("m.jpg", new)}, headers=auth(), timeout=60).json()
    people = httpx.get(url + "/api/people", headers=auth()).json()["people"]
    assert HELD_OUT in people and len(people) == 4
    assert after["faces"][0]["top"][0][0] == HELD_OUT
