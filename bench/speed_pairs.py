"""`python bench/speed_pairs.py`: issue 32's two ratio goals timed in pairs, so that the machine's drift cancels.

A minute-long job on a shared 2-core machine drifts by 10-20% from one minute to the next, more than the margin of
the goals (warm predict >= 6x face_recognition's pipeline, whole `prepare` >= 2x the plain MTCNN loop). So each
round runs every contender once, back to back, in fresh processes (bench/speed.py's children and CLI runs), the order
reversed every other round; a ratio is taken within a round, and the page gives every round's and their median.

Contenders:
- predict (bench/speed.py's warm predict rows, same 40 sports5 photos, warmed on 40 others, median of 3 passes):
  celebface's dlib_face model with the default identity (dlib+faceres), the same model with identity dlib (the
  network face_recognition runs), face_recognition 1.3.0's own pipeline;
- prepare: `celebface prepare` of every sports5 photo against the plain loop `MTCNN(keep_all=True)(photo, save_path)`.

Writes bench/speed_pairs.md (a new section per run, --append) and prints it. Times are reported, never asserted.
"""
from __future__ import annotations

import argparse
import datetime as dt
import os
import shutil
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Callable, Optional, Sequence

sys.path.insert(0, str(Path(__file__).resolve().parent))
import speed  # noqa: E402  (bench/speed.py: children, models, photo picks)

ROOT = speed.ROOT

#: (key, label) of each group's contenders; ratios are against the group's last one
PREDICT = [("predict", "celebface, default identity (dlib+faceres)"),
           ("predict_dlib", "celebface, identity dlib (face_recognition's network)"),
           ("fr", "face_recognition 1.3.0's pipeline")]
PREPARE = [("prepare", "`celebface prepare`"), ("plain", "plain MTCNN loop")]


Contender = tuple[Callable[[str], list[str]], int]  # (command for a tag, photos it names)


def contenders(tmp: Path, data: Path, groups: Sequence[str]) -> dict[str, Contender]:
    """Each contender's command (speed.child_cmd / cli_cmd) and photo count, its model, spec and data made in tmp
    first."""
    photos, known, warm = speed.pick_sets(data, 40, 3)
    out: dict[str, Contender] = {}
    if "predict" in groups:
        for key, identity in (("predict", None), ("predict_dlib", "dlib")):
            model = speed.make_model(tmp, known, "cpu", identity)
            spec = speed.write_spec(tmp, key, photos, "cpu", known, str(model), warm)[1]
            out[key] = (speed.child_cmd("predict", spec), len(photos))
        out["fr"] = (speed.child_cmd("fr", tmp / "spec-predict.json"), len(photos))
    if "prepare" in groups:
        prep = speed.pick_photos(data, 10 ** 9, 0)[0]
        prep_data, prep_spec = speed.write_spec(tmp, "prepare", prep, "cpu", known, "")
        out["prepare"] = (speed.cli_cmd("prepare", str(prep_data), "--out", str(tmp / "prep-{tag}"), "--quiet"),
                          len(prep))
        out["plain"] = (speed.child_cmd("plain-prepare", prep_spec), len(prep))
    return out


def photos_per_second(result: dict, n: int) -> Optional[float]:
    s = result.get("seconds", float("nan"))
    return None if s != s else n / s


def run_rounds(runs: dict[str, Contender], rounds: int, tmp: Path) -> dict[str, list[Optional[float]]]:
    """photos/s of every contender in every round (None: that run failed)."""
    keys, out = list(runs), {k: [] for k in runs}
    for r in range(rounds):
        for key in (keys if r % 2 == 0 else keys[::-1]):
            cmd, n = runs[key]
            res = speed.measure(cmd(f"{r}-{key}"), speed.child_env(), tmp / f"pair{r}-{key}.log")
            out[key].append(photos_per_second(res, n))
            speed.say(f"round {r + 1}: {key} {out[key][-1] or float('nan'):.2f} photos/s")
        shutil.rmtree(tmp / f"prep-{r}-prepare", ignore_errors=True)
    return out


def ratio_rows(values: dict, group: list[tuple[str, str]], goal: float) -> list[str]:
    """Table rows: each contender's photos/s per round and its ratio to the group's last one, median of rounds."""
    base = values[group[-1][0]]
    L = []
    for key, label in group:
        v = values[key]
        cells = " / ".join("–" if x is None else f"{x:.2f}" for x in v)
        ratios = [a / b for a, b in zip(v, base) if a and b]
        med = statistics.median(ratios) if ratios else None
        verdict = "" if key == group[-1][0] or med is None else (
            f" | {' / '.join(f'{x:.2f}' for x in ratios)} | **{med:.2f}x** | {'yes' if med >= goal else 'no'}")
        L.append(f"| {label} | {cells}{verdict or ' | – | – | –'} |")
    return L


def render(info: dict, values: dict, rounds: int) -> list[str]:
    head = "| contender | photos/s each round | ratio each round | median ratio | goal met |"
    L = [f"## {info['date']}, commit {info['commit']}: `{info['command']}`", "",
         f"- machine: {info['cores']} cores, {info['cpu']}; load average (1 min) at start / end: "
         f"{info['load_start']:.1f} / {info['load_end']:.1f}; {rounds} rounds, the order reversed every other round",
         ""]
    if "fr" in values:
        L += ["Warm predict (40 sports5 photos, median of 3 passes after 40 others; goal >= 6x face_recognition's "
              "pipeline):", "", head, "|---|---|---|---:|---|"] + ratio_rows(values, PREDICT, 6.0) + [""]
    if "plain" in values:
        L += ["Whole `prepare` of every sports5 photo, start-up included (goal >= 2x the plain MTCNN loop):", "",
              head, "|---|---|---|---:|---|"] + ratio_rows(values, PREPARE, 2.0) + [""]
    return L


def main(argv: Optional[Sequence[str]] = None) -> None:
    argv = list(sys.argv[1:] if argv is None else argv)
    ap = argparse.ArgumentParser(prog="python bench/speed_pairs.py", description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "datasets" / "sports5")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--only", nargs="+", choices=["predict", "prepare"], default=["predict", "prepare"])
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "speed_pairs.md")
    ap.add_argument("--append", action="store_true", help="add this run to the page instead of replacing it")
    args = ap.parse_args(argv)
    if "predict" in args.only and not speed.have_face_recognition():
        raise SystemExit("face_recognition is not installed: pip install --no-deps face_recognition==1.3.0")
    info = {**speed.machine("cpu"), "load_start": os.getloadavg()[0],
            "date": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
            "command": "python bench/speed_pairs.py " + " ".join(argv)}
    tmp = Path(tempfile.mkdtemp(prefix="celebface-pairs-"))
    try:
        values = run_rounds(contenders(tmp, args.data.resolve(), args.only), args.rounds, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    info["load_end"] = os.getloadavg()[0]
    section = render(info, values, args.rounds)
    title = ["# Issue 32's ratio goals, timed in pairs (bench/speed_pairs.py)", "",
             "> **Measures**: warm predict against face_recognition's pipeline and whole `prepare` against the plain "
             "MTCNN loop, each round back to back so the machine's drift cancels. **Command**: `python "
             "bench/speed_pairs.py` (`--append` adds a run).", ""]
    old = args.out.read_text().split("\n## ", 1) if args.append and args.out.exists() else []
    args.out.write_text("\n".join(title + section) + ("\n## " + old[1] if len(old) == 2 else "\n"))
    print("\n".join(section))
    speed.say(f"wrote {args.out}")


if __name__ == "__main__":
    main()
