"""`python bench/precision.py`: warm `predict` with the identity networks in fp32 and in bf16 (`--precision`),
compared in ONE process, passes alternating, so that the machine's drift over minutes (10-20% on a shared 2-core
VM) falls on both alike. Writes bench/precision.md.

The model and photos are bench/speed.py's (a dlib_face model, people enrolled from 3 other photos each, 40 sports5
photos spread over the people); both precisions first name 40 other photos untimed, then PASSES passes each over the
40 photos, fp32 and bf16 alternating (fp32 first on even rounds, bf16 first on odd ones), with torch's default
threads (one photo per thread at once) and with one thread (one photo at a time). Times are reported, never asserted.
"""
from __future__ import annotations

import argparse
import datetime as dt
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Optional, Sequence

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
PASSES = 4
PRECISIONS = ("fp32", "bf16")


def timed(model: Path, photos: list[str], warm: list[str], threads: Optional[int]) -> dict[str, list[float]]:
    """photos/s of every pass of each precision (one process, one model, passes alternating)."""
    from celebface.recognition.recognizer import load
    from celebface.runtime import set_identity_precision, set_threads

    set_threads(threads)
    rec = load(model, device="cpu")
    for precision in PRECISIONS:
        set_identity_precision(precision)
        list(rec.predict_many(warm))
    out: dict[str, list[float]] = {p: [] for p in PRECISIONS}
    for k in range(PASSES):
        for precision in (PRECISIONS if k % 2 == 0 else PRECISIONS[::-1]):
            set_identity_precision(precision)
            t0 = time.perf_counter()
            list(rec.predict_many(photos))
            out[precision].append(len(photos) / (time.perf_counter() - t0))
    return out


def child(args: Sequence[str]) -> None:
    """One threads setting in a fresh process: prints its passes as one JSON line."""
    import json

    spec = json.loads(Path(args[0]).read_text())
    threads = int(args[1]) or None
    print("RESULT " + json.dumps(timed(Path(spec["model"]), spec["photos"], spec["warm"], threads)), flush=True)


def run_setting(spec: Path, threads: int) -> dict[str, list[float]]:
    """`timed` for one threads setting, in a fresh process (speed.json_child)."""
    import speed

    r = speed.json_child(__file__, [str(spec), str(threads)], spec.parent / f"threads-{threads}.log")
    return {p: r[p] for p in PRECISIONS}


def render(info: dict, results: dict[str, dict[str, list[float]]]) -> str:
    import speed

    lines = ["# Warm predict, identity networks in fp32 and bf16, one process (bench/precision.py)", "",
             f"> **Measures**: warm `predict` with `--precision fp32` and `bf16` in one process, passes alternating. "
             f"**Command**: `python bench/precision.py`. **Commit**: {info['commit']} ({info['date'][:10]}).", "",
             f"- date: {info['date']}; machine: {info['cores']} cores, {info['cpu']}; load average (1 min) at "
             f"start / end: {info['load_start']:.1f} / {info['load_end']:.1f}",
             f"- {info['photos']} sports5 photos (bench/speed.py's), a dlib_face model with the default identity; "
             f"{info['warm']} other photos named untimed in each precision first; {PASSES} passes each, alternating",
             "", "| torch threads | fp32 photos/s, median (passes) | bf16 photos/s, median (passes) | bf16 / fp32 |",
             "|---|---|---|---:|"]
    for label, r in results.items():
        ratio = statistics.median(r["bf16"]) / statistics.median(r["fp32"])
        lines.append(f"| {label} | {speed.passes_cell(r['fp32'])} | {speed.passes_cell(r['bf16'])} | {ratio:.2f} |")
    return "\n".join(lines) + "\n"


def main(argv: Optional[Sequence[str]] = None) -> None:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["--child"]:
        return child(argv[1:])
    import speed

    ap = argparse.ArgumentParser(prog="python bench/precision.py", description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "datasets" / "sports5")
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "precision.md")
    args = ap.parse_args(argv)
    photos, known, warm = speed.pick_sets(args.data.resolve(), 40, 3)
    info = {**speed.machine("cpu"), "date": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
            "photos": len(photos), "warm": len(warm), "load_start": os.getloadavg()[0]}
    tmp = Path(tempfile.mkdtemp(prefix="celebface-precision-"))
    try:
        spec = speed.warm_predict_spec(tmp, photos, known, warm)
        results = {"default (one per core, a photo per thread at once)": run_setting(spec, 0),
                   "1 (one photo at a time)": run_setting(spec, 1)}
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    info["load_end"] = os.getloadavg()[0]
    text = render(info, results)
    args.out.write_text(text)
    print(text)


if __name__ == "__main__":
    main()
