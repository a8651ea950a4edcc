"""`python bench/threads.py`: OpenMP's waiting policy for celebface's two kinds of torch work, quiet and beside one
busy process, to decide the thread policy of celebface/runtime.py by measurement (issue 32).

Each row is a fresh process (libgomp reads its settings when it loads) that times (1) face detection, celebface's
FaceDetector on sports5 photos (many small OpenMP regions), and (2) training steps of EfficientNet-Lite0 at 160 px,
batch 32 (few large ones). Policies: passive waiting (GOMP_SPINCOUNT=0, celebface's default), a bounded spin of
10,000 or 50,000 iterations, and active waiting (OMP_WAIT_POLICY=ACTIVE, libgomp's unbounded spin). "Busy" rows run
beside one `python -c "while True: pass"` started before and stopped after the row. Writes bench/threads.md.
"""
from __future__ import annotations

import argparse
import datetime as dt
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Optional, Sequence

sys.path.insert(0, str(Path(__file__).resolve().parent))
from speed import Busy  # noqa: E402  (one competing busy process, started before and stopped after a row)

ROOT = Path(__file__).resolve().parents[1]
POLICIES = {"passive (celebface's default)": {"OMP_WAIT_POLICY": "PASSIVE", "GOMP_SPINCOUNT": "0"},
            "spin 10,000": {"OMP_WAIT_POLICY": "PASSIVE", "GOMP_SPINCOUNT": "10000"},
            "spin 50,000": {"OMP_WAIT_POLICY": "PASSIVE", "GOMP_SPINCOUNT": "50000"},
            "active (libgomp's ACTIVE)": {"OMP_WAIT_POLICY": "ACTIVE"}}


def child(data: Path, photos: int, steps: int) -> None:
    """Time detection and training steps in this process; print 'detect_ms train_ms'."""
    import torch
    import timm

    from celebface.faces.detect import FaceDetector
    from celebface.io.images import load_image

    files = sorted(p for p in data.glob("*/*") if p.suffix.lower() in (".jpg", ".jpeg", ".png"))
    images = [load_image(f) for f in files[::max(1, len(files) // photos)][:photos]]
    detector = FaceDetector()
    detector.detect(images[0])
    t = time.perf_counter()
    for im in images:
        detector.detect(im)
    detect_ms = (time.perf_counter() - t) / len(images) * 1000
    torch.manual_seed(0)
    net = timm.create_model("tf_efficientnet_lite0", num_classes=5)
    x, y = torch.randn(32, 3, 160, 160).contiguous(memory_format=torch.channels_last), torch.randint(0, 5, (32,))
    opt = torch.optim.Adam(net.parameters(), 1e-3)

    def step() -> None:
        opt.zero_grad()
        torch.nn.functional.cross_entropy(net(x), y).backward()
        opt.step()

    step()
    t = time.perf_counter()
    for _ in range(steps):
        step()
    print(f"{detect_ms:.1f} {(time.perf_counter() - t) / steps * 1000:.1f}")


def run_row(env: dict, busy: bool, args: argparse.Namespace) -> tuple[float, float]:
    cmd = [sys.executable, __file__, "--child", "--data", str(args.data), "--photos", str(args.photos),
           "--steps", str(args.steps)]
    with Busy(int(busy)):
        out = subprocess.run(cmd, env={**os.environ, "PYTHONPATH": str(ROOT), **env}, capture_output=True,
                             text=True, check=True).stdout.split()
    return float(out[-2]), float(out[-1])


def render(rows: dict, args: argparse.Namespace, loads: tuple[float, float]) -> str:
    lines = ["# OpenMP waiting policy, quiet and beside one busy process (bench/threads.py)", "",
             f"- date: {dt.datetime.now(dt.timezone.utc):%Y-%m-%d %H:%M} UTC; command: `python bench/threads.py "
             f"--rounds {args.rounds} --photos {args.photos} --steps {args.steps}`; {os.cpu_count()} cores, torch's "
             f"default threads (one per core); load average at start / end {loads[0]:.2f} / {loads[1]:.2f}",
             "- detection: ms a photo, celebface's FaceDetector on sports5 photos; training: ms a step, "
             "EfficientNet-Lite0 160 px, batch 32, forward + backward + Adam; each figure the min-max of the rounds",
             "", "| policy | detection quiet | detection busy | busy / quiet | training quiet | training busy | "
             "busy / quiet |", "|---|---:|---:|---:|---:|---:|---:|"]
    for name, r in rows.items():
        def span(v: list[float]) -> str:
            return f"{min(v):.0f}-{max(v):.0f}"
        dq, db = [a for a, _ in r[False]], [a for a, _ in r[True]]
        tq, tb = [b for _, b in r[False]], [b for _, b in r[True]]
        lines.append(f"| {name} | {span(dq)} | {span(db)} | {min(dq) / min(db):.2f} | {span(tq)} | {span(tb)} | "
                     f"{min(tq) / min(tb):.2f} |")
    lines += ["", "busy / quiet: the throughput kept beside the busy process (best of the rounds each way; 0.5 is "
              "a fair half of two cores)."]
    return "\n".join(lines)


def main(argv: Optional[Sequence[str]] = None) -> None:
    ap = argparse.ArgumentParser(prog="python bench/threads.py", description=__doc__.splitlines()[0])
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "datasets" / "sports5")
    ap.add_argument("--photos", type=int, default=12)
    ap.add_argument("--steps", type=int, default=3)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "threads.md")
    args = ap.parse_args(argv)
    if args.child:
        return child(args.data, args.photos, args.steps)
    start = os.getloadavg()[0]
    rows: dict = {name: {False: [], True: []} for name in POLICIES}
    for _ in range(args.rounds):
        for busy in (False, True):
            for name, env in POLICIES.items():
                rows[name][busy].append(run_row(env, busy, args))
                print(name, "busy" if busy else "quiet", rows[name][busy][-1], flush=True)
    text = render(rows, args, (start, os.getloadavg()[0]))
    args.out.write_text(text + "\n")
    print("\n" + text)


if __name__ == "__main__":
    main()
