"""`python bench/at_once.py`: how many photos warm `predict_many` should name at once (runtime.photo_workers),
compared in ONE process, passes alternating, so that the machine's drift over minutes falls on every setting alike.
Writes bench/at_once.md.

The model and photos are bench/speed.py's (a dlib_face model, people enrolled from 3 other photos each, 40 sports5
photos spread over the people). With torch's default threads (one per core), each setting first names 40 other
photos untimed, then PASSES rounds (--passes) name the 40 photos once per setting, the settings' order rotating;
then the same beside one busy process (speed.Busy). Times are reported, never asserted.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Optional, Sequence

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
PASSES = 3
AT_ONCE = (1, 2, 3, 4)


def timed(model: Path, photos: list[str], warm: list[str], at_once: Sequence[int], passes: int
          ) -> dict[str, list[float]]:
    """photos/s of every pass of each setting, quiet and beside one busy process (one process, one model)."""
    import speed
    from celebface.recognition.recognizer import load
    from celebface.runtime import set_threads

    set_threads(None)
    rec = load(model, device="cpu")
    for n in at_once:
        list(rec.predict_many(warm, workers=n))
    out: dict[str, list[float]] = {}
    for busy in (0, 1):
        with speed.Busy(busy):
            for k in range(passes):
                for n in at_once[k % len(at_once):] + at_once[:k % len(at_once)]:
                    t0 = time.perf_counter()
                    list(rec.predict_many(photos, workers=n))
                    out.setdefault(f"{n} {busy}", []).append(len(photos) / (time.perf_counter() - t0))
    return out


HEADER = ["# Photos named at once by warm predict, one process (bench/at_once.py)", "",
          "> **Measures**: warm `predict_many` naming 1-4 photos at once, quiet and beside one busy process, in one "
          "process, passes alternating. **Command**: `python bench/at_once.py` (each run below names its options; "
          "`--append` adds a run to the page).", ""]


def render(info: dict, r: dict[str, list[float]]) -> str:
    """One run's section: its command, machine and a row per setting."""
    import speed

    opts = f" --at-once {' '.join(map(str, info['at_once']))} --passes {info['passes']}"
    lines = [f"## {info['date']}, commit {info['commit']}: `python bench/at_once.py{opts}`", "",
             f"- machine: {info['cores']} cores, {info['cpu']}; torch threads: {info['threads']}; load average (1 min) "
             f"at start / end: {info['load_start']:.1f} / {info['load_end']:.1f}",
             f"- {info['photos']} sports5 photos (bench/speed.py's), a dlib_face model with the default identity; "
             f"{info['passes']} passes a setting, the order rotating; the default is `runtime.photo_workers()` = "
             f"{info['default']}", "",
             "| photos at once | quiet photos/s, median (passes) | beside 1 busy process, median (passes) |",
             "|---:|---|---|"]
    for n in info["at_once"]:
        lines.append(f"| {n} | {speed.passes_cell(r[f'{n} 0'])} | {speed.passes_cell(r[f'{n} 1'])} |")
    return "\n".join(lines) + "\n"


def main(argv: Optional[Sequence[str]] = None) -> None:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["--child"]:
        spec = json.loads(Path(argv[1]).read_text())
        r = timed(Path(spec["model"]), spec["photos"], spec["warm"], spec["at_once"], spec["passes"])
        print("RESULT " + json.dumps(r), flush=True)
        return
    import speed

    ap = argparse.ArgumentParser(prog="python bench/at_once.py", description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "datasets" / "sports5")
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "at_once.md")
    ap.add_argument("--at-once", type=int, nargs="+", default=list(AT_ONCE), help="settings compared (photos at once)")
    ap.add_argument("--passes", type=int, default=PASSES, help="passes a setting, quiet and busy each")
    ap.add_argument("--append", action="store_true", help="add this run to the page instead of starting it anew")
    args = ap.parse_args(argv)
    photos, known, warm = speed.pick_sets(args.data.resolve(), 40, 3)
    info = {**speed.machine("cpu"), "date": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
            "photos": len(photos), "load_start": os.getloadavg()[0], "at_once": args.at_once, "passes": args.passes}
    tmp = Path(tempfile.mkdtemp(prefix="celebface-at-once-"))
    try:
        spec = speed.warm_predict_spec(tmp, photos, known, warm, at_once=args.at_once, passes=args.passes)
        code = ("from celebface.runtime import photo_workers; import torch; "
                "print(torch.get_num_threads(), photo_workers())")
        threads, default = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=speed.child_env(),
                                          capture_output=True, text=True).stdout.split()[-2:]
        r = speed.json_child(__file__, [str(spec)], tmp / "child.log")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    info.update(load_end=os.getloadavg()[0], threads=threads, default=default)
    section = render(info, {k: v for k, v in r.items() if k[0].isdigit()})
    before = args.out.read_text() if args.append and args.out.exists() else "\n".join(HEADER) + "\n"
    args.out.write_text(before + "\n" + section)
    print(section)


if __name__ == "__main__":
    main()
