"""`python bench/scale_video.py [--seconds 120] [--segment 30]`: one long video indexed whole vs in parts.

A video of `--seconds` seconds is composed from sports5 photos (a new person every 15 s), then `index --engine
local` with 2 workers runs on it twice, same run: `--segment 0` (the whole video is one task: one worker works, the
other waits) and `--segment S` (parts of S seconds, shared by the workers). Reports the seconds of each and whether
both gave the same rows. Writes bench/scale_video.md and prints it; times are reported, never asserted.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
DATASETS = ROOT.parent / "shared" / "datasets"


def long_video(seconds: float, path: Path) -> Path:
    """A video of one sports5 photo after another, 15 s each (people in turn)."""
    from celebface.io.images import is_image_name
    from celebface.io.video_compose import Shot, compose_video

    people = [sorted(f for f in p.iterdir() if is_image_name(f))[20:] for p in sorted((DATASETS / "sports5").iterdir())
              if p.is_dir()]
    shots, t, k = [], 0.0, 0
    while t < seconds:
        shots.append(Shot(t, min(t + 15.0, seconds), [people[k % len(people)][k // len(people)]]))
        t, k = t + 15.0, k + 1
    return compose_video(shots, path, size=(854, 480), fps=25)


def timed_index(model: Path, folder: Path, out: Path, segment: float) -> tuple[float, list]:
    from celebface.scale.index import IndexOptions, index, read_index

    t = time.perf_counter()
    index(model, [str(folder)], str(out), IndexOptions("local", workers=2, shard_size=4, segment=segment))
    seconds = time.perf_counter() - t
    rows = sorted(read_index(str(out)).to_pylist(), key=lambda r: (r["time"] or 0.0, r["face"]))
    return seconds, [(r["time"], r["face"], r["name"]) for r in rows]


def main() -> None:
    from scale import ensure_model

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=120.0)
    ap.add_argument("--segment", type=float, default=30.0)
    ap.add_argument("--model", type=Path, default=ROOT / "out" / "bench-scale" / "model")
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "scale_video.md")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        model = ensure_model(args.model, tmp / "train")
        (tmp / "videos").mkdir()
        long_video(args.seconds, tmp / "videos" / "long.mp4")
        whole_s, whole = timed_index(model, tmp / "videos", tmp / "whole", 0)
        parts_s, parts = timed_index(model, tmp / "videos", tmp / "parts", args.segment)
    lines = ["# One long video indexed whole vs in parts", "",
             f"Date {time.strftime('%Y-%m-%d %H:%M')}, this 2-core CPU, dlib_face model, `index --engine local` with 2 "
             f"workers, --fps 2, a {args.seconds:.0f}-s 854x480 video of sports5 photos. Command: "
             f"`python bench/scale_video.py --seconds {args.seconds:g} --segment {args.segment:g}`.", "",
             "| run | tasks | s | rows (faces over the sampled frames) |", "|---|---:|---:|---:|",
             f"| --segment 0 (the whole video one task) | 1 | {whole_s:.1f} | {len(whole)} |",
             f"| --segment {args.segment:g} | {int(-(-args.seconds // args.segment))} | {parts_s:.1f} | {len(parts)} |",
             "", f"Speed-up {whole_s / parts_s:.2f}x; the same rows (time, face, name) both ways: {whole == parts}."]
    args.out.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
