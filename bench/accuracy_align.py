"""Issue 12's alignment lever, measured: efficientnet_lite0 trained and scored on face crops aligned on MTCNN's 5
landmarks (`prepare --align`: a similarity transform onto ArcFace's 5-point template, eyes level, fixed eye
distance, the same margin as the plain crops) against the plain square crops around the detector's box.

    .venv/bin/python bench/accuracy_align.py [--datasets celeb5 sports5] [--seeds 0 1 2] [--work out/accuracy-align]

The shipped code throughout (prepare with `PrepareOptions(align=True)`, train, and the validation crops named
through `Recognizer.name_crops`); prints one raw row per run, in bench/accuracy.py's format, to set beside the
plain-crop rows of bench/accuracy.md (same seeds, options and split rule). glint12 is left out by default: its
photos are aligned 112x112 crops already.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))


def run_one(dataset: str, seed: int, work_root: Path) -> dict:
    import accuracy as acc  # bench/accuracy.py, beside this script

    from celebface.config import PrepareOptions, TrainOptions
    from celebface.data.prepare import prepare
    from celebface.training.train import train

    work = work_root / dataset
    t0 = time.time()
    prepare(acc.DATASETS / dataset, work, PrepareOptions(seed=seed, align=True), progress=False)
    prep_s = time.time() - t0
    model = work_root / f"model-{dataset}-efficientnet_lite0-{seed}"
    t0 = time.time()
    b = train(work, model, TrainOptions(backbone="efficientnet_lite0", seed=seed), progress=False,
              log=lambda s: None)
    row = acc.result_row(dataset, seed, "efficientnet_lite0", {"crops": "aligned"}, True, b.metrics, model, work,
                         round(prep_s, 1), round(time.time() - t0, 1))
    print(json.dumps(row), flush=True)
    return row


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--datasets", nargs="+", default=["celeb5", "sports5"])
    ap.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    ap.add_argument("--work", type=Path, default=ROOT / "out" / "accuracy-align")
    args = ap.parse_args()
    os.environ.setdefault("CELEBFACE_OFFLINE", "1")
    for ds in args.datasets:
        for seed in args.seeds:
            run_one(ds, seed, args.work)


if __name__ == "__main__":
    main()
