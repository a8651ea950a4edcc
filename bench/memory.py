"""`python bench/memory.py`: the server's memory under load (writes bench/memory.md).

Starts `celebface serve` as a separate process on a dlib_face model, then measures its resident memory
(/proc/PID/status VmRSS, and the peak VmHWM):
  * single large requests (each <= 10 MB): a 79-megapixel PNG (0.25 MB) and a 10 MB JPEG;
  * ROUNDS rounds of SECONDS seconds of 16 concurrent clients posting ordinary sports5 photos.
Figures are printed and written; nothing is asserted.
"""
from __future__ import annotations

import argparse
import concurrent.futures as cf
import datetime as dt
import io
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATASETS = ROOT.parent / "shared" / "datasets"


def status(pid: int, key: str) -> int:
    """A /proc/PID/status figure in MB."""
    with open(f"/proc/{pid}/status") as f:
        return int(next(line for line in f if line.startswith(key)).split()[1]) // 1024


def start_server(model: Path, port: int) -> subprocess.Popen:
    import httpx

    env = {**os.environ, "CELEBFACE_OFFLINE": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "celebface.cli", "serve", str(model), "--port", str(port)],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(600):
        try:
            if httpx.get(f"http://127.0.0.1:{port}/api/health", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            time.sleep(0.2)
    proc.kill()
    raise RuntimeError("the server did not start")


def big_png() -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (10000, 7900), (90, 140, 200)).save(buf, "PNG", compress_level=9)
    return buf.getvalue()


def big_jpeg(limit: int = 10 * 1024 * 1024) -> bytes:
    """A real sports5 photo enlarged to about 10 MB of JPEG."""
    from PIL import Image

    src = max((DATASETS / "sports5" / "Roger_Federer").iterdir(), key=lambda p: p.stat().st_size)
    img = Image.open(src).convert("RGB")
    side = 6000
    while True:
        big = img.resize((side, round(side * img.height / img.width)))
        buf = io.BytesIO()
        big.save(buf, "JPEG", quality=97)
        if buf.tell() <= limit or side < 2000:
            return buf.getvalue()
        side -= 500


def single(url: str, pid: int, name: str, data: bytes) -> dict:
    import httpx

    before, peak0 = status(pid, "VmRSS"), status(pid, "VmHWM")
    t = time.perf_counter()
    r = httpx.post(f"{url}/api/predict", files={"file": (name, data)}, timeout=300)
    took = time.perf_counter() - t
    time.sleep(1.5)
    return {"request": f"{name} ({len(data) / 1e6:.2f} MB)", "status": r.status_code, "before_mb": before,
            "after_mb": status(pid, "VmRSS"), "peak_rise_mb": max(0, status(pid, "VmHWM") - max(before, peak0)),
            "seconds": round(took, 2)}


def load_round(url: str, photos: list[bytes], seconds: float, clients: int = 16) -> tuple[int, int]:
    import httpx

    deadline = time.monotonic() + seconds

    def client(k: int) -> tuple[int, int]:
        ok = bad = 0
        with httpx.Client(timeout=120) as c:
            i = k
            while time.monotonic() < deadline:
                r = c.post(f"{url}/api/predict", files={"file": ("p.jpg", photos[i % len(photos)])})
                ok, bad = (ok + 1, bad) if r.status_code == 200 else (ok, bad + 1)
                i += clients
        return ok, bad

    with cf.ThreadPoolExecutor(clients) as pool:
        res = list(pool.map(client, range(clients)))
    return sum(r[0] for r in res), sum(r[1] for r in res)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("model", type=Path, help="a dlib_face MODEL_DIR (e.g. from `make demo BACKBONE=dlib_face`)")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--seconds", type=float, default=30)
    ap.add_argument("--port", type=int, default=8765)
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "memory.md")
    args = ap.parse_args()
    proc = start_server(args.model, args.port)
    url = f"http://127.0.0.1:{args.port}"
    try:
        singles = [single(url, proc.pid, "79MP.png", big_png()), single(url, proc.pid, "10MB.jpg", big_jpeg())]
        photos = [p.read_bytes() for person in ("Roger_Federer", "Serena_Williams", "Virat_Kohli")
                  for p in sorted((DATASETS / "sports5" / person).iterdir())[:8] if p.stat().st_size < 3_000_000]
        rounds = []
        for k in range(args.rounds):
            ok, bad = load_round(url, photos, args.seconds)
            time.sleep(1.5)
            rounds.append({"round": k + 1, "ok": ok, "failed": bad, "rss_mb": status(proc.pid, "VmRSS")})
            print(rounds[-1], flush=True)
    finally:
        proc.terminate()
        proc.wait(30)
    write(args, singles, rounds)


def write(args: argparse.Namespace, singles: list[dict], rounds: list[dict]) -> None:
    lines = [f"# Server memory ({dt.date.today()}, `python bench/memory.py {args.model} --rounds {args.rounds} "
             f"--seconds {args.seconds:g}`)", "", f"{os.cpu_count()} cores; `celebface serve` in its own process; "
             "RSS from /proc/PID/status.", "", "| single request | HTTP | RSS before | RSS after | peak rise | s |",
             "|---|---|---|---|---|---|"]
    lines += [f"| {s['request']} | {s['status']} | {s['before_mb']} MB | {s['after_mb']} MB | {s['peak_rise_mb']} MB "
              f"| {s['seconds']} |" for s in singles]
    lines += ["", f"16 concurrent clients, {args.seconds:g} s a round, ordinary sports5 photos:", "",
              "| round | requests ok | failed | RSS after |", "|---|---|---|---|"]
    lines += [f"| {r['round']} | {r['ok']} | {r['failed']} | {r['rss_mb']} MB |" for r in rounds]
    if rounds:
        lines += ["", f"RSS after the last round / after the first: {rounds[-1]['rss_mb'] / rounds[0]['rss_mb']:.2f}x"]
    text = "\n".join(lines) + "\n"
    print(text)
    args.out.write_text(text)


if __name__ == "__main__":
    main()
