"""`celebface evaluate`: a bundle's figures on a prepared WORK_DIR, as a table, metrics.json and plots."""
from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Optional

import numpy as np

from ..config import UNKNOWN
from ..errors import DataError
from ..recognition.bundle import update_metrics
from ..recognition.recognizer import Recognizer
from .data import load_dataset
from .photo_eval import photo_level
from .report import scores, write_plots


def evaluate(model_dir: Path, work_dir: Path, device: str = "auto", progress: bool = True) -> dict:
    """Run the model on WORK_DIR's validation (and test) face crops (a), and on the validation photos through
    predict (b: every photo, suspects included; c: single-face photos); update MODEL_DIR/metrics.json and plots.

    :param model_dir: a trained model folder
    :param work_dir: the WORK_DIR it was trained on
    :param device: "auto", "cpu" or "cuda"
    :param progress: show progress bars
    """
    from PIL import Image
    from sklearn.metrics import classification_report, confusion_matrix
    from ..runtime import progress_bar

    rec = Recognizer(Path(model_dir), device)
    ds = load_dataset(Path(work_dir))
    if ds["classes"] != rec.classes:
        missing = sorted(set(ds["classes"]) - set(rec.classes))
        if missing:
            raise DataError(f"the model does not know {', '.join(missing)} from {work_dir}; evaluate it on the "
                             f"WORK_DIR it was trained on")
    metrics = dict(rec.bundle.metrics)
    class_ix = [rec.classes.index(c) for c in ds["classes"]]
    for split in ("val", "test"):
        items = ds["splits"].get(split) or []
        if not items:
            continue
        preds = []
        for i in progress_bar(range(0, len(items), 32), desc=f"evaluate {split}", disable=not progress, unit="batch"):
            crops = [Image.open(Path(work_dir) / it["file"]).convert("RGB") for it in items[i:i + 32]]
            preds += rec.name_crops(crops)
        y = np.array([class_ix[it["label"]] for it in items])
        best = np.array([rec.classes.index(p.top[0][0]) for p in preds])
        named = np.array([p.name for p in preds])
        rep = scores(y, best)
        labels = list(range(len(rec.classes)))
        rep["per_class"] = classification_report(y, best, labels=labels, target_names=rec.classes,
                                                 output_dict=True, zero_division=0)
        rep["confusion_matrix"] = confusion_matrix(y, best, labels=labels).tolist()
        known = np.array([rec.classes[t] for t in y])
        rep["named_correctly_with_threshold"] = float((named == known).mean())
        rep["called_unknown"] = float((named == UNKNOWN).mean())
        metrics[f"{split}_report"] = rep
        if split == "val":
            metrics["val_accuracy"] = rep["accuracy"]
            metrics["val_macro_f1"] = rep["macro_f1"]
            metrics["val_weighted_f1"] = rep["weighted_f1"]
        else:
            metrics["test_accuracy"] = rep["accuracy"]
            metrics["test_macro_f1"] = rep["macro_f1"]
    if ds["splits"].get("val"):  # (b) and (c): whole photos through predict, suspects included (photo_eval.py)
        figures = photo_level(rec, Path(work_dir), progress=progress)
        metrics.update({f"val_{k}": v for k, v in figures.items()})
    with tempfile.TemporaryDirectory() as tmp:
        plots = write_plots(metrics, rec.classes, Path(tmp))
        update_metrics(Path(model_dir), metrics, plots)
    return metrics
