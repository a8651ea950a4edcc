"""Replay stage 2's early stopping with smaller patiences over the histories of models `bench/accuracy.py` trained.

    .venv/bin/python bench/accuracy_patience.py [--tag=-unfreeze3] [--patience 5 4 3 2]

Training is seeded and runs the same epochs up to any stop, the learning-rate schedule does not depend on the
early-stopping patience (it is cut after `--patience // 2` epochs without a lower validation loss in both cases),
and the best epoch's weights ship. So a run with a smaller stage-2 patience stops at the first epoch that ends
`patience` epochs without improvement, and ships the best epoch before it: exactly what this replays. Where the
replayed best epoch is the run's own, the finished model *is* that run's model (same weights), and
`bench/accuracy.py --rescore` scores it as shipped.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def replay(history: list[dict], patience: int) -> tuple[dict, int]:
    """(the best epoch's row, the epoch it stops after) of a run with this early-stopping patience."""
    best, best_row, bad = float("inf"), history[0], 0
    for row in history:
        if row["val_loss"] < best - 1e-4:  # loop.fit's rule
            best, best_row, bad = row["val_loss"], row, 0
        else:
            bad += 1
            if bad >= patience:
                return best_row, row["epoch"]
    return best_row, history[-1]["epoch"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--work", type=Path, default=ROOT / "out" / "accuracy")
    ap.add_argument("--backbone", default="efficientnet_lite0")
    ap.add_argument("--tag", default="", help="model name suffix of the run (bench/accuracy.py's --set), e.g. "
                                              "--tag=-unfreeze3")
    ap.add_argument("--datasets", nargs="+", default=["celeb5", "sports5", "glint12"])
    ap.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    ap.add_argument("--patience", nargs="+", type=int, default=[5, 4, 3, 2])
    args = ap.parse_args()
    print("| dataset | seed | " + " | ".join(f"patience {p}: stop / best epoch, val acc" for p in args.patience)
          + " | same model as the run |")
    print("|---|---|" + "---|" * (len(args.patience) + 1))
    for ds in args.datasets:
        for seed in args.seeds:
            metrics = args.work / f"model-{ds}-{args.backbone}-{seed}{args.tag}" / "current" / "metrics.json"
            if not metrics.exists():
                continue
            history = json.loads(metrics.read_text())["stage2"]["history"]
            rows = [replay(history, p) for p in args.patience]
            own = replay(history, 10 ** 6)[0]["epoch"]
            cells = [f"{stop} / {b['epoch']}, {100 * b['val_acc']:.2f}%" for b, stop in rows]
            same = ", ".join(f"p{p}: {'yes' if b['epoch'] == own else 'no'}" for p, (b, _) in zip(args.patience, rows))
            print(f"| {ds} | {seed} | " + " | ".join(cells) + f" | {same} |")


if __name__ == "__main__":
    main()
