"""Test-time horizontal flip for a trained CNN model: validation accuracy with the crop alone, its mirror image
alone, and the two averaged (softmax probabilities, or features before the head).

    .venv/bin/python bench/accuracy_tta.py MODEL_DIR WORK_DIR [MODEL_DIR WORK_DIR ...]
    .venv/bin/python bench/accuracy_tta.py --splits MODEL_DIR WORK_DIR SPLIT_JSON [...]

Each MODEL_DIR is a `celebface train` output of a CNN backbone, WORK_DIR the prepared folder it was trained on (its
validation split is used; with --splits, the one of SPLIT_JSON instead, e.g. a split bench/accuracy.py saved in
WORK/splits/, since it prepares each seed into the same folder). Prints one line per model and setting; nothing is
written.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np


def tta_rows(model: Path, work: Path, split: Path | None = None) -> list[tuple[str, float, float, int]]:
    """(setting, accuracy, macro-F1, n) for the crop, the mirror, and the two averaged."""
    import torch
    from PIL import Image, ImageOps
    from sklearn.metrics import f1_score

    import celebface

    rec = celebface.load(model)
    ds = json.loads((split or work / "dataset.json").read_text())
    val = ds["splits"]["val"]
    crops = [Image.open(work / it["file"]).convert("RGB") for it in val]
    truth = np.array([rec.classes.index(ds["classes"][it["label"]]) for it in val])
    head = rec.matcher.head

    def probs(feats: np.ndarray) -> np.ndarray:
        with torch.inference_mode():
            return head(torch.from_numpy(feats).float()).softmax(1).numpy()

    plain, mirror = rec.embed(crops), rec.embed([ImageOps.mirror(c) for c in crops])
    out = []
    for name, p in (("crop", probs(plain)), ("mirror", probs(mirror)),
                    ("flip-averaged probabilities", (probs(plain) + probs(mirror)) / 2),
                    ("flip-averaged features", probs((plain + mirror) / 2))):
        pred = p.argmax(1)
        out.append((name, float(np.mean(pred == truth)), float(f1_score(truth, pred, average="macro")), len(truth)))
    return out


def main() -> None:
    with_splits = sys.argv[1:2] == ["--splits"]
    args = [Path(a) for a in sys.argv[1 + with_splits:]]
    k = 3 if with_splits else 2
    if not args or len(args) % k:
        raise SystemExit(__doc__)
    for i in range(0, len(args), k):
        model, work, split = args[i], args[i + 1], args[i + 2] if with_splits else None
        for name, acc, f1, n in tta_rows(model, work, split):
            print(f"{model.name}\t{name}\tacc {100 * acc:.2f}%\tmacro-F1 {f1:.4f}\tn={n}", flush=True)


if __name__ == "__main__":
    main()
