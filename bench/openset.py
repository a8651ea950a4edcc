"""Strangers stay "unknown": stranger rejection per backbone, leave-one-person-out, border faces; writes
bench/openset.md.

    .venv/bin/python bench/openset.py [--seeds 0] [--backbones dlib_face efficientnet_lite0] [--no-lopo]

A model trained on sports5 names every face of extras/group_photos, celeb5 and glint12 (none of them sports5
people); one trained on glint12 names every face of sports5, celeb5 and the group photos. Strangers' faces are all
the faces `prepare` found in those sets' photos (not only the chosen ones). "Named" means given a known person's
name; "before" is the softmax-probability gate alone (the gate of CNN models before the verification gate).
Known: validation faces of the training set named correctly, with the gate and without any gate (closed set).
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DATASETS = ROOT.parent / "shared" / "datasets"
GROUPS = DATASETS / "extras" / "group_photos"
STRANGERS = {"sports5": ["celeb5", "glint12"], "glint12": ["sports5", "celeb5"]}


def prepared(ds: str, seed: int, root: Path, data: Path | None = None) -> Path:
    from celebface.config import PrepareOptions
    from celebface.data.prepare import prepare

    work = root / f"work-{ds}-s{seed}"
    if not (work / "dataset.json").exists():
        prepare(data or DATASETS / ds, work, PrepareOptions(seed=seed), progress=False)
    return work


def trained(work: Path, model: Path, backbone: str, seed: int) -> Path:
    from celebface.config import TrainOptions
    from celebface.training.train import train

    if not (model / "current").exists():
        train(work, model, TrainOptions(backbone=backbone, seed=seed, threads=1), progress=False, log=lambda s: None)
    return model


def all_crops(work: Path) -> list[Path]:
    from celebface.data.manifest import read_records

    return [work / f.crop for r in read_records(work / "manifest.jsonl").values() for f in r.faces if f.crop]


def name_all(rec, crops: list[Path]) -> list:
    from PIL import Image

    out = []
    for i in range(0, len(crops), 64):
        out += rec.name_crops([Image.open(p).convert("RGB") for p in crops[i:i + 64]])
    return out


def softmax_named(rec, matches) -> np.ndarray:
    """Named by the softmax gate alone (CNN models): the head's best probability reaches the bundle's threshold."""
    t = float(rec.bundle.config["threshold"])
    return np.array([bool(m.top) and m.top[0][1] >= t for m in matches])


def named(matches) -> np.ndarray:
    return np.array([m.name not in (None, "unknown") for m in matches])


def group_cell(rec) -> dict:
    """The group photos through `predict` itself (quality gate included): faces named, and left unnamed as too poor."""
    faces = [f for p in sorted(GROUPS.iterdir()) for f in rec.predict_image(p).faces]
    cell = {"n": len(faces), "named": sum(f.name not in (None, "unknown") for f in faces),
            "too_poor": sum(f.name is None for f in faces)}
    return cell


def known_figures(rec, work: Path) -> dict:
    from PIL import Image

    ds = json.loads((work / "dataset.json").read_text())
    val = ds["splits"]["val"]
    ms = name_all(rec, [work / it["file"] for it in val])
    truth = np.array([ds["classes"][it["label"]] for it in val])
    top = np.array([m.top[0][0] if m.top else "" for m in ms])
    names = np.array([m.name for m in ms])
    return {"n": len(val), "closed": float((top == truth).mean()), "gated": float((names == truth).mean()),
            "softmax": float(((top == truth) & softmax_named(rec, ms)).mean()) if rec.verifier else None}


def stranger_rows(train_ds: str, bb: str, seed: int, root: Path) -> dict:
    import celebface

    rec = celebface.load(trained(prepared(train_ds, seed, root), root / f"model-{train_ds}-{bb}-s{seed}", bb, seed))
    row = {"train": train_ds, "backbone": bb, "seed": seed, "threshold": rec.threshold,
           "known": known_figures(rec, prepared(train_ds, seed, root)), "strangers": {}}
    sets = {s: all_crops(prepared(s, 0, root)) for s in STRANGERS[train_ds]}
    for name, crops in sets.items():
        ms = name_all(rec, crops)
        row["strangers"][name] = _stranger_cell(rec, ms)
    row["strangers"]["group_photos"] = group_cell(rec)
    print(json.dumps(row), flush=True)
    return row


def _stranger_cell(rec, ms) -> dict:
    cell = {"n": len(ms), "named": int(named(ms).sum())}
    if rec.verifier is not None:
        cell["named_softmax"] = int(softmax_named(rec, ms).sum())
    return cell


def lopo_rows(bb: str, root: Path) -> list[dict]:
    """Each sports5 person left out of training in turn: their faces should come out unknown."""
    import celebface
    from PIL import Image

    full = prepared("sports5", 0, root)
    records = json.loads((full / "manifest.json").read_text())["photos"]
    people = sorted({r["person"] for r in records})
    rows = []
    for out in people:
        data = without_person(DATASETS / "sports5", people, out, root / f"lopo-data-{out}")
        work = root / f"lopo-work-{out}"
        if not work.exists():  # the detections of the full run are reused: only the split and augmentation run
            work.mkdir()
            shutil.copy(full / "manifest.jsonl", work / "manifest.jsonl")
            shutil.copytree(full / "faces", work / "faces", ignore=shutil.ignore_patterns(out))
        work = _prep_lopo(data, work)
        rec = celebface.load(trained(work, root / f"lopo-model-{out}-{bb}", bb, 0))
        crops = [full / r["faces"][r["chosen"]]["crop"] for r in records
                 if r["person"] == out and r["chosen"] is not None and not r["suspect"]]
        ms = name_all(rec, crops)
        k = known_figures(rec, work)
        rows.append({"backbone": bb, "left_out": out, "faces": len(crops),
                     "unknown": float(1 - named(ms).mean()), "known_named": k["gated"], "known_closed": k["closed"],
                     "n_known": k["n"], "threshold": rec.threshold})
        print(json.dumps(rows[-1]), flush=True)
    return rows


def without_person(dataset: Path, people: list[str], out: str, data: Path) -> Path:
    """DATA_DIR `data`: links to every person's folder of `dataset` but `out`'s (made once)."""
    if not data.exists():
        data.mkdir()
        for p in people:
            if p != out:
                (data / p).symlink_to(dataset / p)
    return data


def _prep_lopo(data: Path, work: Path) -> Path:
    from celebface.config import PrepareOptions
    from celebface.data.prepare import prepare

    if not (work / "dataset.json").exists():
        prepare(data, work, PrepareOptions(seed=0), progress=False)
    return work


def pct(a: float) -> str:
    return f"{100 * a:.1f}%"


def write(rows: list[dict], lopo: list[dict], args, out: Path) -> None:
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                            cwd=ROOT).stdout.strip()
    lines = ["# Open set: strangers stay \"unknown\"", "",
             f"Date {time.strftime('%Y-%m-%d')}, commit {commit}, CPU only. Command: "
             f"`.venv/bin/python bench/openset.py {' '.join(sys.argv[1:])}`", "", __doc__.split("\n\n", 1)[1], "",
             "## Strangers' faces given a known person's name", "",
             "| trained on | backbone | seed | threshold | strangers' set (faces) | named now | named by softmax gate "
             "alone | known val named correctly (closed set) |", "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        k = r["known"]
        for s, c in r["strangers"].items():
            before = f"{pct(c['named_softmax'] / c['n'])}" if "named_softmax" in c else "-"
            poor = f"; {c['too_poor']} too poor to name" if c.get("too_poor") else ""
            lines.append(f"| {r['train']} | {r['backbone']} | {r['seed']} | {r['threshold']:.3f} | {s} ({c['n']}) | "
                         f"{pct(c['named'] / c['n'])} ({c['named']}{poor}) | {before} | {pct(k['gated'])} "
                         f"({pct(k['closed'])}, n={k['n']}) |")
        tot = sum(c["n"] for c in r["strangers"].values())
        nam = sum(c["named"] for c in r["strangers"].values())
        lines.append(f"| {r['train']} | {r['backbone']} | {r['seed']} | | **all ({tot})** | **{pct(nam / tot)}** | | |")
    if lopo:
        lines += ["", "## Leave one sports5 person out (seed-0 split)", "",
                  "| backbone | left out | their faces | called unknown | others' val faces named correctly "
                  "(closed set) | threshold |", "|---|---|---|---|---|---|"]
        for r in lopo:
            lines.append(f"| {r['backbone']} | {r['left_out']} | {r['faces']} | {pct(r['unknown'])} | "
                         f"{pct(r['known_named'])} ({pct(r['known_closed'])}, n={r['n_known']}) | {r['threshold']:.3f} |")
    borders = ROOT / "bench" / "borders.md"  # written by bench/borders.py (make bench-openset runs it first)
    if borders.exists():
        lines += ["", borders.read_text().split("\n", 1)[1].strip()]
    lines += ["", "What each threshold buys, and other ways of scoring a face against a person's faces: "
              "bench/openset_tradeoff.md (bench/openset_tradeoff.py, run after this script)."]
    lines += ["", "Raw rows:", "", "```", *[json.dumps(r) for r in rows + lopo], "```"]
    out.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", nargs="+", type=int, default=[0])
    ap.add_argument("--backbones", nargs="+", default=["dlib_face", "efficientnet_lite0"])
    ap.add_argument("--train-sets", nargs="+", default=["sports5", "glint12"])
    ap.add_argument("--no-lopo", action="store_true")
    ap.add_argument("--lopo-only", action="store_true")
    ap.add_argument("--from-logs", nargs="+", type=Path, default=None,
                    help="write the report from the JSON rows these earlier runs printed (their stdout)")
    ap.add_argument("--work", type=Path, default=ROOT / "out" / "openset")
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "openset.md")
    args = ap.parse_args()
    os.environ.setdefault("CELEBFACE_OFFLINE", "1")
    args.work.mkdir(parents=True, exist_ok=True)
    if args.from_logs:
        lines = dict.fromkeys(line for log in args.from_logs for line in log.read_text().splitlines()
                              if line.startswith("{"))  # a run prints each row twice: as it goes, and in its report
        logged = [json.loads(line) for line in lines]
        write([r for r in logged if "left_out" not in r], [r for r in logged if "left_out" in r], args, args.out)
        return
    if args.lopo_only:
        write([], [r for bb in args.backbones for r in lopo_rows(bb, args.work)], args, args.out)
        return
    rows = [stranger_rows(ds, bb, seed, args.work) for ds in args.train_sets for bb in args.backbones
            for seed in args.seeds]
    write(rows, [], args, args.out)  # written now, and again with the leave-one-out table
    if not args.no_lopo:
        write(rows, [r for bb in args.backbones for r in lopo_rows(bb, args.work)], args, args.out)


if __name__ == "__main__":
    main()
