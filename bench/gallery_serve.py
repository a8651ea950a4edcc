"""Serving with several workers on one gallery, for bench/gallery.py: requests/s and p50/p95 latency at 16
concurrent clients for `serve --workers 1` and `--workers 2` (same run, same photos), while a 17th client enrols
and forgets a person every 2 s; every request must succeed."""
from __future__ import annotations

import socket
import subprocess
import sys
import threading
import time
import urllib.request
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

CELEB5 = Path(__file__).resolve().parents[2] / "shared" / "datasets" / "celeb5"
CLIENTS, SECONDS = 16, 30
SETTINGS = ((1, 1), (1, 2), (2, 1), (2, 2))  # (workers, threads per worker): each at every thread setting


def _post(url: str, field: str, files: list[Path], method: str = "POST") -> int:
    boundary = uuid.uuid4().hex
    body = b"".join((f"--{boundary}\r\nContent-Disposition: form-data; name=\"{field}\"; filename=\"{f.name}\"\r\n"
                     f"Content-Type: image/jpeg\r\n\r\n").encode() + f.read_bytes() + b"\r\n" for f in files)
    body += f"--{boundary}--\r\n".encode() if files else b""
    req = urllib.request.Request(url, data=body or None, method=method,
                                 headers={"Content-Type": f"multipart/form-data; boundary={boundary}"})
    with urllib.request.urlopen(req, timeout=120) as r:
        r.read()
        return r.status


def _start(model: Path, workers: int, threads: int) -> tuple[subprocess.Popen, str]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([sys.executable, "-m", "celebface", "serve", str(model), "--port", str(port),
                             "--workers", str(workers), "--threads", str(threads)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    for _ in range(600):
        try:
            urllib.request.urlopen(base + "/api/health", timeout=5).read()
            return proc, base
        except OSError:
            time.sleep(0.5)
    proc.kill()
    raise RuntimeError("server did not start")


def _load(base: str, photos: list[Path]) -> dict:
    stop = time.monotonic() + SECONDS
    lat, errors = [], []

    def client(i: int) -> None:
        k = i
        while time.monotonic() < stop:
            t = time.perf_counter()
            try:
                _post(base + "/api/predict", "file", [photos[k % len(photos)]])
                lat.append(time.perf_counter() - t)
            except OSError as exc:
                errors.append(str(exc))
            k += CLIENTS

    def churn() -> None:
        who = sorted((CELEB5 / "Mindy_Kaling").iterdir())[:1]
        while time.monotonic() < stop:
            _post(base + "/api/people/Churn", "files", who)
            _post(base + "/api/people/Churn", "files", [], method="DELETE")
            time.sleep(2)

    t0 = time.monotonic()
    extra = threading.Thread(target=churn)
    extra.start()
    with ThreadPoolExecutor(CLIENTS) as pool:
        list(pool.map(client, range(CLIENTS)))
    extra.join()
    wall = time.monotonic() - t0
    return {"rps": len(lat) / wall, "p50": float(np.percentile(lat, 50)), "p95": float(np.percentile(lat, 95)),
            "ok": len(lat), "errors": len(errors)}


def serve_section(tmp: Path) -> list[str]:
    model = tmp / "serve_model"
    subprocess.run([sys.executable, "-m", "celebface", "init", str(model)], check=True, stdout=subprocess.DEVNULL)
    subprocess.run([sys.executable, "-m", "celebface", "enroll", str(model), "--folder", str(CELEB5), "--main-face"],
                   check=True, stdout=subprocess.DEVNULL)
    photos = [p for d in sorted(CELEB5.iterdir()) for p in sorted(d.iterdir())[-4:]]
    lines = [f"## Serving ({CLIENTS} clients for {SECONDS} s, one photo per request of celeb5; a 17th client "
             "enrols and forgets a person every 2 s)", "",
             "| workers | threads per worker | photos/s | p50 s | p95 s | requests ok | failed |",
             "|---:|---:|---:|---:|---:|---:|---:|"]
    for workers, threads in SETTINGS:
        proc, base = _start(model, workers, threads)
        try:
            r = _load(base, photos)
        finally:
            proc.terminate()
            proc.wait(30)
        line = (f"| {workers} | {threads} | {r['rps']:.2f} | {r['p50']:.2f} | {r['p95']:.2f} | {r['ok']} | "
                f"{r['errors']} |")
        print(line, flush=True)
        lines.append(line)
    return lines + [""]
