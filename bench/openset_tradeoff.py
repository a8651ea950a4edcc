"""What the "unknown" threshold buys: known faces kept against strangers named, for dlib_face models trained by
bench/openset.py, and for other ways of scoring a face against a person's gallery; writes bench/openset_tradeoff.md.

    .venv/bin/python bench/openset_tradeoff.py [--train-sets sports5 glint12] [--seed 0]

Known: the validation faces of the training set; strangers: every face prepare found in the other sets (as in
bench/openset.md). Embeddings are the flip-averaged dlib ones the model uses (cached in each work dir). Scores of a
face for a person: "max" (production: its nearest gallery face), "topK" (mean of its K nearest), "centroid"
(cosine to the person's mean face).
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from openset import ROOT, STRANGERS, all_crops  # noqa: E402

RULES = ("max", "top3", "centroid")
THRESHOLDS = (0.90, 0.91, 0.92, 0.93, 0.94, 0.95, 0.96)


def embeddings(work: Path, files: list[str]) -> np.ndarray:
    from celebface.data.embedding_cache import cached_embeddings

    return cached_embeddings(work, files, progress=False, flip=True)


def person_scores(x: np.ndarray, gallery: np.ndarray, people: np.ndarray, rule: str) -> np.ndarray:
    """(N, P) score of each face for each person of the gallery (people sorted by id)."""
    cols = []
    for p in np.unique(people):
        g = gallery[people == p]
        if rule == "centroid":
            c = g.mean(0)
            cols.append(x @ (c / np.linalg.norm(c)))
            continue
        sims = x @ g.T
        k = 1 if rule == "max" else int(rule[3:])
        cols.append(np.sort(sims, axis=1)[:, -k:].mean(1))
    return np.stack(cols, 1)


def load_sets(train: str, seed: int, root: Path) -> dict:
    import celebface

    work = root / f"work-{train}-s{seed}"
    rec = celebface.load(root / f"model-{train}-dlib_face-s{seed}")
    delta = rec.matcher.store.changes_since(0)
    names = rec.matcher.store.names()
    ds = json.loads((work / "dataset.json").read_text())
    val = ds["splits"]["val"]
    strangers = []
    for s in STRANGERS[train]:
        sw = root / f"work-{s}-s0"
        strangers.append(embeddings(sw, [str(p.relative_to(sw)) for p in all_crops(sw)]))
    ids = np.unique(delta.added_people)
    return {"gallery": delta.added_vecs.astype(np.float32), "people": delta.added_people,
            "names": np.array([names[int(i)] for i in ids]), "threshold": rec.threshold,
            "val": embeddings(work, [it["file"] for it in val]),
            "truth": np.array([ds["classes"][it["label"]] for it in val]), "strangers": np.concatenate(strangers)}


def rates(d: dict, rule: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(known correct by best person, known best score, strangers' best score)."""
    sv = person_scores(d["val"], d["gallery"], d["people"], rule)
    ss = person_scores(d["strangers"], d["gallery"], d["people"], rule)
    return d["names"][sv.argmax(1)] == d["truth"], sv.max(1), ss.max(1)


def shares(correct: np.ndarray, known_scores: np.ndarray, stranger_scores: np.ndarray, t: float
           ) -> tuple[float, float]:
    """At threshold t: the share of known faces named correctly, and of strangers' faces given a name."""
    return float((correct & (known_scores >= t)).mean()), float((stranger_scores >= t).mean())


def section(train: str, seed: int, root: Path) -> list[str]:
    d = load_sets(train, seed, root)
    nv, ns = len(d["val"]), len(d["strangers"])
    lines = [f"## Trained on {train} (seed {seed}): {nv} known validation faces, {ns} strangers' faces; the model's "
             f"calibrated threshold {d['threshold']:.3f}", "",
             "| score | threshold | known named correctly | strangers named |", "|---|---:|---:|---:|"]
    best = ["", "| score | known, closed set | strangers named while known drops <= 1 point | known while strangers "
            "<= 3% |", "|---|---:|---:|---:|"]
    for rule in RULES:
        correct, kv, ks = rates(d, rule)
        cuts = sorted(set(THRESHOLDS) | ({d["threshold"]} if rule == "max" else set()))
        for t in cuts:
            mark = " (the model's)" if rule == "max" and t == d["threshold"] else ""
            known, named = shares(correct, kv, ks, t)
            lines.append(f"| {rule} | {t:.4f}{mark} | {known:.1%} | {named:.1%} |")
        known, named = np.array([shares(correct, kv, ks, t) for t in np.unique(np.r_[kv, ks])]).T
        keep = named[known >= correct.mean() - 0.01 - 1e-9]
        few = known[named <= 0.03]
        best.append(f"| {rule} | {correct.mean():.1%} | {keep.min():.1%} | {few.max():.1%} |")
    return lines + best + [""]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--train-sets", nargs="+", default=["sports5", "glint12"])
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--work", type=Path, default=ROOT / "out" / "openset")
    args = ap.parse_args()
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                            cwd=ROOT).stdout.strip()
    lines = ["# What the \"unknown\" threshold buys (dlib_face)", "",
             f"Date {time.strftime('%Y-%m-%d')}, commit {commit}. Command: `.venv/bin/python bench/openset_tradeoff.py "
             f"{' '.join(sys.argv[1:])}` (after bench/openset.py, whose models and work dirs it reads).", "",
             __doc__.split("\n\n", 2)[2].strip(), ""]
    for train in args.train_sets:
        if (args.work / f"model-{train}-dlib_face-s{args.seed}").exists():
            lines += section(train, args.seed, args.work)
    out = ROOT / "bench" / "openset_tradeoff.md"
    out.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
