"""Video benchmark: timeline accuracy on videos composed from real photos (truth known) and speed at 720p.

    python bench/video.py [--model MODEL_DIR] [--out out/bench-video] [--videos 3] [--seconds 40]

Without --model, a dlib_face model is prepared and trained on the first 40 photos of each sports5 person, its
"unknown" threshold calibrated with glint12's people as the strangers folder (`celebface train --strangers`); the
videos use the other sports5 photos (single-face ones, picked by the detector only, not by whether they are
recognised) and celeb5 people as strangers. Writes bench/video.md and prints the figures.
"""
from __future__ import annotations

import argparse
import os
import platform
import random
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATASETS = ROOT.parent / "shared" / "datasets"
SPORTS5, CELEB5, GLINT12 = DATASETS / "sports5", DATASETS / "celeb5", DATASETS / "glint12"
TRAIN_PHOTOS = 40


@dataclass
class Truth:
    start: float
    end: float
    names: list[str]


def photos(folder: Path) -> list[Path]:
    from celebface.io.images import is_image_name

    return sorted(p for p in folder.iterdir() if is_image_name(p))


def train_model(out: Path) -> Path:
    """A dlib_face model on the first TRAIN_PHOTOS photos of each sports5 person (what the video photos are not),
    calibrated with glint12 as the strangers folder (none of its people is in the videos)."""
    from celebface.config import PrepareOptions
    from celebface.data.prepare import prepare
    from celebface.training.train import TrainOptions, train

    model = out / "model"
    if (model / "config.json").exists():
        return model
    data = out / "data"
    for person in sorted(p.name for p in SPORTS5.iterdir() if p.is_dir()):
        (data / person).mkdir(parents=True, exist_ok=True)
        for p in photos(SPORTS5 / person)[:TRAIN_PHOTOS]:
            link = data / person / p.name
            if not link.exists():
                link.symlink_to(p)
    prepare(data, out / "work", PrepareOptions(per_class=40), progress=False)
    train(out / "work", model, TrainOptions(backbone="dlib_face", strangers=str(GLINT12)), progress=False,
          log=lambda s: None)
    return model


def single_face_pool(rec, folder: Path, skip: int, limit: int) -> list[Path]:
    """Photos in which the detector finds exactly one face (names are not looked at)."""
    from celebface.io.images import load_image

    pool = []
    for p in photos(folder)[skip:]:
        if len(rec.detect(load_image(p))) == 1:
            pool.append(p)
        if len(pool) >= limit:
            break
    return pool


def script(rng: random.Random, pools: dict[str, list[Path]], strangers: list[Path], seconds: float) -> list[Truth]:
    """Shots of 2-5 s: one known person (55%), two side by side (15%), a stranger (15%), nobody (15%)."""
    people, shots, t = sorted(pools), [], 0.0
    while t < seconds - 1.0:
        length = min(rng.choice([2.0, 3.0, 4.0, 5.0]), seconds - t)
        kind = rng.random()
        if kind < 0.55:
            names = [rng.choice(people)]
        elif kind < 0.70:
            names = rng.sample(people, 2)
        elif kind < 0.85:
            names = ["?"]
        else:
            names = []
        shots.append(Truth(t, t + length, names))
        t += length
    return shots


def to_shots(truth: list[Truth], rng: random.Random, pools: dict[str, list[Path]], strangers: list[Path]):
    from celebface.io.video_compose import Shot

    shots = []
    for tr in truth:
        files = [rng.choice(strangers) if n == "?" else rng.choice(pools[n]) for n in tr.names]
        zoom = rng.choice([(1.0, 1.15), (1.15, 1.0), (1.0, 1.0)])
        shots.append(Shot(tr.start, tr.end, files, zoom=zoom, pan=rng.choice([(-0.04, 0.04), (0.04, -0.04)])))
    return shots


def score(result, truth: list[Truth], step: float) -> tuple[float, float, float, float]:
    """(covered, true_time, wrong, named_time) in seconds on a 0.05 s grid.

    A person's appearance [start, end] stands for [start, end + step): each sample shows the step after it.
    """
    dt = 0.05
    duration = max(tr.end for tr in truth)
    covered = true_time = wrong = named = 0.0
    spans = {p.name: [(a.start, a.end + step) for a in p.appearances] for p in result.people}
    for k in range(int(duration / dt)):
        t = (k + 0.5) * dt
        on = {n for tr in truth if tr.start <= t < tr.end for n in tr.names if n != "?"}
        shown = {n for n, ss in spans.items() if any(a <= t < b for a, b in ss)}
        true_time += dt * len(on)
        covered += dt * len(on & shown)
        named += dt * len(shown)
        wrong += dt * len(shown - on)
    return covered, true_time, wrong, named


MADE: set[Path] = set()  # videos this run has composed


def analyse(rec, path: Path, fps: float, reembed: float):
    from celebface.recognition.video import VideoOptions, analyse_video
    from celebface.recognition.video_reuse import ReuseOptions

    return analyse_video(rec, path, VideoOptions(fps=fps, reuse=ReuseOptions(reembed=reembed)))[0]


def accuracy(rec, out: Path, n_videos: int, seconds: float, fps: float, reembed: float) -> dict:
    pools = {p.name: single_face_pool(rec, p, TRAIN_PHOTOS, 12) for p in sorted(SPORTS5.iterdir()) if p.is_dir()}
    strangers = [q for p in sorted(CELEB5.iterdir()) if p.is_dir() for q in photos(p)[:3]]
    from celebface.io.video_compose import compose_video

    totals = [0.0, 0.0, 0.0, 0.0]
    for v in range(n_videos):
        rng = random.Random(v)
        truth = script(rng, pools, strangers, seconds)
        path = out / f"accuracy_{v}.mp4"
        if path not in MADE:  # composed afresh by each run, once for all settings
            MADE.add(path)
            compose_video(to_shots(truth, rng, pools, strangers), path, size=(960, 540))
        res = analyse(rec, path, fps, reembed)
        for i, x in enumerate(score(res, truth, 1.0 / fps)):
            totals[i] += x
    covered, true_time, wrong, named = totals
    return {"reembed": reembed, "videos": n_videos, "seconds": n_videos * seconds,
            "covered": covered / max(true_time, 1e-9),
            "wrong": wrong / max(named, 1e-9), "true_time": true_time, "named_time": named,
            "pool": {k: len(v) for k, v in pools.items()}, "threshold": rec.threshold}


def speed(rec, out: Path, faces: int, seconds: float, fps: float, reembed: float) -> dict:
    """Seconds of 720p video analysed per second of wall time, with `faces` people side by side on screen."""
    from celebface.io.video_compose import Shot, compose_video

    people = ["Roger_Federer", "Serena_Williams", "Virat_Kohli"][:faces]
    files = [single_face_pool(rec, SPORTS5 / p, TRAIN_PHOTOS, 1)[0] for p in people]
    path = out / f"speed_{faces}.mp4"
    if path not in MADE:
        MADE.add(path)
        compose_video([Shot(0.0, seconds, files, zoom=(1.0, 1.2))], path, size=(1280, 720), fps=30)
    t0 = time.perf_counter()
    res = analyse(rec, path, fps, reembed)
    wall = time.perf_counter() - t0
    return {"reembed": reembed, "faces": faces, "seconds": seconds, "wall": wall, "x_realtime": seconds / wall,
            "named": sorted(p.name for p in res.people)}


def annotate_speed(rec, out: Path) -> dict:
    from celebface.recognition.video import VideoOptions, analyse_video
    from celebface.recognition.video_annotate import annotate_video

    path = out / "speed_1.mp4"
    _, tracks = analyse_video(rec, path, VideoOptions(fps=2.0), keep_tracks=True)
    t0 = time.perf_counter()
    annotate_video(path, tracks, out / "speed_1.annotated.mp4", 2.0)
    from celebface.io.video import probe_video

    seconds = probe_video(path).duration or 0.0
    return {"seconds": seconds, "wall": time.perf_counter() - t0}


def report(accs: list[dict], speeds: list[dict], ann: dict, fps: float) -> str:
    load = os.getloadavg()
    acc = accs[0]
    lines = [
        "# Video benchmark (`make bench-video`)", "",
        f"Machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, no GPU; load average at "
        f"the end {load[0]:.1f}, {load[1]:.1f}, {load[2]:.1f} on {os.cpu_count()} cores (the benchmark itself keeps "
        f"about {os.cpu_count()} busy; more means other jobs shared the CPU and the speeds are lower bounds).", "",
        "## Timeline accuracy", "",
        f"{acc['videos']} videos composed from real photos ({acc['seconds']:.0f} s in all, 960x540, shots of 2-5 s "
        f"with pans and zooms: one sports5 person, two side by side, a celeb5 stranger, or nobody); single-face "
        f"photos not among the {TRAIN_PHOTOS} per person the dlib_face model was trained on (pool sizes "
        f"{acc['pool']}; its threshold {acc['threshold']} calibrated with glint12 as `--strangers`); "
        f"`--fps {fps:g}`, `--merge-gap 1`.", "",
        "`--reembed`: seconds a face that stays in place and looks the same keeps its embedding (0: every face is "
        "embedded in every sampled frame; 1: the default).", "",
        "| `--reembed` | true appearance time covered by the right name | time wrongly named (share of named time) |",
        "|---:|---:|---:|"]
    for a in accs:
        lines.append(f"| {a['reembed']:g} | {100 * a['covered']:.1f}% of {a['true_time']:.1f} s | "
                     f"{100 * a['wrong']:.1f}% of {a['named_time']:.1f} s |")
    lines += ["", "## Speed (720p, 30 fps H.264, `--fps 2`, model loaded)", "",
              "| `--reembed` | faces on screen | video | wall | video seconds per wall second | named |",
              "|---:|---:|---:|---:|---:|---|"]
    for s in speeds:
        lines.append(f"| {s['reembed']:g} | {s['faces']} | {s['seconds']:.0f} s | {s['wall']:.1f} s | "
                     f"{s['x_realtime']:.2f}x | {', '.join(s['named'])} |")
    lines += ["", f"Annotated MP4 (`--annotate`, 1280x720 H.264 veryfast, every frame): {ann['seconds']:.0f} s of "
                  f"video written in {ann['wall']:.1f} s ({ann['seconds'] / ann['wall']:.2f}x real time).", ""]
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", type=Path)
    ap.add_argument("--out", type=Path, default=ROOT / "out" / "bench-video")
    ap.add_argument("--videos", type=int, default=3)
    ap.add_argument("--seconds", type=float, default=40.0)
    ap.add_argument("--fps", type=float, default=2.0)
    args = ap.parse_args()
    import celebface

    args.out.mkdir(parents=True, exist_ok=True)
    rec = celebface.load(args.model or train_model(args.out))
    acc, speeds = [], []
    for reembed in (0.0, 1.0):
        acc.append(accuracy(rec, args.out, args.videos, args.seconds, args.fps, reembed))
        print("accuracy:", acc[-1], flush=True)  # each stage prints as it ends: a cut-short run still tells something
    for reembed in (0.0, 1.0):
        for n in (1, 3):
            speeds.append(speed(rec, args.out, n, 20.0, args.fps, reembed))
            print("speed:", speeds[-1], flush=True)
    text = report(acc, speeds, annotate_speed(rec, args.out), args.fps)
    (ROOT / "bench" / "video.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
