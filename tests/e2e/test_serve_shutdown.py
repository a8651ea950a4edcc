"""A real `celebface serve` process sent SIGTERM leaves no clustering folder in the temporary directory, and a
server starting removes the folders of servers that are gone (killed with SIGKILL)."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(model: Path, tmp: Path) -> tuple[subprocess.Popen, str]:
    port = free_port()
    env = {**os.environ, "TMPDIR": str(tmp), "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-m", "celebface", "serve", str(model), "--port", str(port)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 180
    while True:
        try:
            with urllib.request.urlopen(base + "/api/health", timeout=10):
                return proc, base
        except (urllib.error.URLError, ConnectionError):
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                pytest.fail("the server did not start")
            time.sleep(0.5)


def cluster_job(base: str) -> None:
    """One clustering job, so that its folder holds something (the uploaded photo, then the clusters)."""
    from PIL import Image
    import io

    buf = io.BytesIO()
    Image.new("RGB", (64, 64), "white").save(buf, format="PNG")
    body = (b"--b\r\nContent-Disposition: form-data; name=\"files\"; filename=\"a.png\"\r\nContent-Type: image/png"
            b"\r\n\r\n" + buf.getvalue() + b"\r\n--b--\r\n")
    req = urllib.request.Request(base + "/api/cluster", data=body, method="POST",
                                 headers={"Content-Type": "multipart/form-data; boundary=b"})
    with urllib.request.urlopen(req, timeout=60) as r:
        assert r.status == 202


@pytest.fixture
def model(tmp_path) -> Path:
    subprocess.run([sys.executable, "-m", "celebface", "init", str(tmp_path / "model")], check=True,
                   env={**os.environ, "PYTHONPATH": str(ROOT)}, stdout=subprocess.DEVNULL)
    return tmp_path / "model"


def clusters(tmp: Path) -> list[str]:
    return sorted(p.name for p in tmp.glob("celebface-clusters-*"))


def test_sigterm_removes_the_servers_cluster_folders_and_a_start_removes_stale_ones(model, tmp_path):
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    proc, base = start(model, tmp)
    assert [n.startswith(f"celebface-clusters-{proc.pid}-") for n in clusters(tmp)] == [True]
    cluster_job(base)
    proc.send_signal(signal.SIGTERM)
    proc.wait(60)  # uvicorn shuts down gracefully, then re-raises the signal (-15)
    assert clusters(tmp) == []

    killed, _ = start(model, tmp)  # a server killed outright cannot clean up ...
    killed.kill()
    killed.wait(30)
    assert len(clusters(tmp)) == 1
    proc, _ = start(model, tmp)  # ... so the next one to start does
    try:
        assert [n.startswith(f"celebface-clusters-{proc.pid}-") for n in clusters(tmp)] == [True]
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(60)
    assert clusters(tmp) == []
