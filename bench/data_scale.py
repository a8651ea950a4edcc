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


def make_set(source: Path, out: Path, n: int, seed: int = 0) -> dict[str, str]:
    """N variants of `source`'s photos under out/<person>/ (kept when already complete); returns variant -> source
    (relative paths), also in out/../<name>.sources.json."""
    done, plan_file = out / ".complete", out.parent / f"{out.name}.sources.json"
    if done.exists() and int(done.read_text()) == n and plan_file.exists():
        return json.loads(plan_file.read_text())
    rng = random.Random(seed)
    photos = sorted(p for p in source.glob("*/*") if p.is_file())
    plan = {}
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
        plan[f"{src.parent.name}/v{k:06d}.jpg"] = str(src.relative_to(source))
    plan_file.write_text(json.dumps(plan))
    done.write_text(str(n))
    return plan


def grouping(report: dict, plan: dict[str, str]) -> dict:
    """How the duplicate groups match the variants' sources: photos with a sibling (another variant of their
    source) found in a group with one, and groups joining different source photos."""
    by_source: dict[str, list[str]] = {}
    for v, src in plan.items():
        by_source.setdefault(src, []).append(v)
    group_of = {f: k for k, g in enumerate(report["duplicate_groups"]) for f in g["files"]}
    with_sibling = [v for vs in by_source.values() if len(vs) > 1 for v in vs]
    found = sum(1 for v in with_sibling if v in group_of and
                any(group_of.get(o) == group_of[v] for o in by_source[plan[v]] if o != v))
    mixed = sum(1 for g in report["duplicate_groups"] if len({plan[f] for f in g["files"]}) > 1)
    return {"with_sibling": len(with_sibling), "found": found, "mixed_groups": mixed}


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


def row(n: int, r: dict, g: dict) -> str:
    rep = r["report"]
    groups = rep["duplicate_groups"]
    return (f"| {n:,} | {r['seconds']:.0f} s | {n / r['seconds']:.1f} | {r['peak_rss'] / 2**20:.0f} MB | "
            f"{len(rep['no_face'])} | {len(groups)} | {sum(len(x['files']) for x in groups):,} | "
            f"{g['found']:,}/{g['with_sibling']:,} ({g['found'] / max(1, g['with_sibling']):.1%}) | "
            f"{g['mixed_groups']} | {len(rep['mislabelled'])} ({len(rep['mislabelled']) / n:.1%}) | "
            f"{r['html_mb']:.1f} MB |")


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
             "Variants of one source photo are near-duplicates by construction: \"grouped with a sibling\" counts the "
             "photos whose source has other variants that `check` put in one group with at least one of them; "
             "\"mixed groups\" join variants of different source photos (glint12 itself holds near-duplicate "
             "photos, 101 groups, so some are expected). Every photo is filed under its true person, so each "
             "mislabel flag is a false flag (on rotated, re-lit variants).", "",
             "| photos | time | photos/s | peak memory | no face | duplicate groups | photos in groups | "
             "grouped with a sibling | mixed groups | flagged as mislabelled | report.html |",
             "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for n in args.sizes:
        plan = make_set(args.datasets / "glint12", args.work / f"set-{n}", n)
        r = run_check(args.work / f"set-{n}", args.work / f"report-{n}")
        lines.append(row(n, r, grouping(r["report"], plan)))
        print(lines[-1], flush=True)
        args.out.write_text("\n".join(lines) + "\n\n", encoding="utf-8")  # after each size: a long run may stop
    print("\n".join(lines))


if __name__ == "__main__":
    main()
