"""`celebface check` on large generated data sets: time, peak memory (all processes) and what it found.

    python bench/data_scale.py [--sizes 2000 8000] [--work out/bench-data-scale] [--out bench/data_scale.md]

Each set is made of variants of glint12 photos (random flip, rotation up to 8 degrees, crop up to 8% a side,
scale 0.8-1.5x, brightness and contrast 0.8-1.2, JPEG quality 60-95), filed under the source photo's person: many
near-duplicate groups by construction. `check` runs as the CLI in its own process, cold; memory is the summed
resident memory of it and its worker processes, sampled every 0.5 s.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import time
from pathlib import Path

import psutil
from PIL import Image, ImageEnhance


def make_set(source: Path, out: Path, n: int, seed: int = 0) -> Path:
    """N variants of `source`'s photos under out/<person>/ (kept when already complete)."""
    done = out / ".complete"
    if done.exists() and int(done.read_text()) == n:
        return out
    rng = random.Random(seed)
    photos = sorted(p for p in source.glob("*/*") if p.is_file())
    for k in range(n):
        src = rng.choice(photos)
        img = Image.open(src).convert("RGB")
        if rng.random() < 0.5:
            img = img.transpose(Image.FLIP_LEFT_RIGHT)
        img = img.rotate(rng.uniform(-8, 8), resample=Image.BILINEAR)
        w, h = img.size
        img = img.crop((int(w * rng.uniform(0, .08)), int(h * rng.uniform(0, .08)),
                        int(w * (1 - rng.uniform(0, .08))), int(h * (1 - rng.uniform(0, .08)))))
        s = rng.uniform(0.8, 1.5)
        img = img.resize((int(img.width * s), int(img.height * s)), Image.BICUBIC)
        img = ImageEnhance.Brightness(img).enhance(rng.uniform(0.8, 1.2))
        img = ImageEnhance.Contrast(img).enhance(rng.uniform(0.8, 1.2))
        (out / src.parent.name).mkdir(parents=True, exist_ok=True)
        img.save(out / src.parent.name / f"v{k:06d}.jpg", quality=rng.randint(60, 95))
    done.write_text(str(n))
    return out


def tree_rss(proc: psutil.Process) -> int:
    total = 0
    for p in [proc, *proc.children(recursive=True)]:
        try:
            total += p.memory_info().rss
        except psutil.Error:
            pass
    return total


def run_check(data: Path, report: Path) -> dict:
    """Run `celebface check` cold; return seconds, peak summed RSS and the JSON summary."""
    import shutil

    shutil.rmtree(report, ignore_errors=True)
    cmd = [sys.executable, "-m", "celebface", "check", str(data), "--out", str(report), "--quiet"]
    start, peak = time.time(), 0
    with open(report.parent / f"{report.name}.log", "w") as log:
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
        ps = psutil.Process(proc.pid)
        while proc.poll() is None:
            peak = max(peak, tree_rss(ps))
            time.sleep(0.5)
    if proc.returncode != 0:
        raise SystemExit(f"check failed ({proc.returncode}); see {report.parent / (report.name + '.log')}")
    return {"seconds": time.time() - start, "peak_rss": peak,
            "report": json.loads((report / "report.json").read_text()),
            "html_mb": (report / "report.html").stat().st_size / 1e6}


def row(n: int, r: dict) -> str:
    rep = r["report"]
    groups = rep["duplicate_groups"]
    return (f"| {n:,} | {r['seconds']:.0f} s | {n / r['seconds']:.1f} | {r['peak_rss'] / 2**20:.0f} MB | "
            f"{len(rep['no_face'])} | {len(groups)} | {sum(len(g['files']) for g in groups):,} | "
            f"{len(rep['mislabelled'])} | {r['html_mb']:.1f} MB |")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--datasets", type=Path, default=Path(os.environ.get("DATASETS", "/work/shared/datasets")))
    ap.add_argument("--sizes", type=int, nargs="+", default=[2000, 8000])
    ap.add_argument("--work", type=Path, default=Path("out/bench-data-scale"))
    ap.add_argument("--out", type=Path, default=Path("bench/data_scale.md"))
    args = ap.parse_args()
    load = os.getloadavg()[0]
    lines = ["# `celebface check` on large generated sets", "",
             f"`python bench/data_scale.py --sizes {' '.join(map(str, args.sizes))}`, {time.strftime('%Y-%m-%d')}, "
             f"{os.cpu_count()} cores, load average {load:.1f} at the start. Variants of glint12 photos (see the "
             "script), cold (nothing cached), the CLI in its own process; memory = summed RSS of it and its "
             "workers, sampled every 0.5 s.", "",
             "| photos | time | photos/s | peak memory | no face | duplicate groups | photos in groups | "
             "flagged as mislabelled | report.html |", "|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for n in args.sizes:
        data = make_set(args.datasets / "glint12", args.work / f"set-{n}", n)
        r = run_check(data, args.work / f"report-{n}")
        lines.append(row(n, r))
        print(lines[-1], flush=True)
    lines.append("")
    args.out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
