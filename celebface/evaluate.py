"""`celebface evaluate`: a bundle's figures on a prepared WORK_DIR, as a table, metrics.json and plots."""
from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Optional

import numpy as np

from .bundle import update_metrics
from .predict import Recognizer
from .train import load_dataset, scores

#: The design's own published figures (validation accuracy, F1), for comparison.
DESIGN = {"stage1": (0.9441, 0.7204), "stage2": (0.9706, 0.8640)}


def evaluate(model_dir: Path, work_dir: Path, device: str = "auto", progress: bool = True) -> dict:
    """Run the model on WORK_DIR's validation (and test) face crops; update MODEL_DIR/metrics.json and plots."""
    from PIL import Image
    from sklearn.metrics import classification_report, confusion_matrix
    from tqdm import tqdm

    rec = Recognizer(Path(model_dir), device)
    ds = load_dataset(Path(work_dir))
    if ds["classes"] != rec.classes:
        missing = sorted(set(ds["classes"]) - set(rec.classes))
        if missing:
            raise ValueError(f"the model does not know {', '.join(missing)} from {work_dir}; evaluate it on the "
                             f"WORK_DIR it was trained on")
    metrics = dict(rec.bundle.metrics)
    class_ix = [rec.classes.index(c) for c in ds["classes"]]
    for split in ("val", "test"):
        items = ds["splits"].get(split) or []
        if not items:
            continue
        preds = []
        for i in tqdm(range(0, len(items), 32), desc=f"evaluate {split}", disable=not progress, unit="batch"):
            crops = [Image.open(Path(work_dir) / it["file"]).convert("RGB") for it in items[i:i + 32]]
            preds += rec.classify(rec.features(crops))
        y = np.array([class_ix[it["label"]] for it in items])
        best = np.array([rec.classes.index(p["top"][0][0]) for p in preds])
        named = np.array([p["name"] for p in preds])
        rep = scores(y, best)
        labels = list(range(len(rec.classes)))
        rep["per_class"] = classification_report(y, best, labels=labels, target_names=rec.classes,
                                                 output_dict=True, zero_division=0)
        rep["confusion_matrix"] = confusion_matrix(y, best, labels=labels).tolist()
        known = np.array([rec.classes[t] for t in y])
        rep["named_correctly_with_threshold"] = float((named == known).mean())
        rep["called_unknown"] = float((named == "unknown").mean())
        metrics[f"{split}_report"] = rep
        if split == "val":
            metrics["val_accuracy"] = rep["accuracy"]
            metrics["val_macro_f1"] = rep["macro_f1"]
            metrics["val_weighted_f1"] = rep["weighted_f1"]
        else:
            metrics["test_accuracy"] = rep["accuracy"]
            metrics["test_macro_f1"] = rep["macro_f1"]
    with tempfile.TemporaryDirectory() as tmp:
        plots = write_plots(metrics, rec.classes, Path(tmp))
        update_metrics(Path(model_dir), metrics, plots)
    return metrics


def write_plots(metrics: dict, classes: list[str], out: Path) -> dict[str, Path]:
    """confusion_matrix.png and learning_curves.png; returns {file name: path}."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    files: dict[str, Path] = {}
    cm = metrics.get("val_report", {}).get("confusion_matrix")
    if cm is not None:
        cm = np.array(cm)
        fig, ax = plt.subplots(figsize=(1.2 + 0.6 * len(classes), 1.0 + 0.6 * len(classes)))
        ax.imshow(cm, cmap="Blues")
        ax.set_xticks(range(len(classes)), classes, rotation=45, ha="right", fontsize=8)
        ax.set_yticks(range(len(classes)), classes, fontsize=8)
        for (i, j), v in np.ndenumerate(cm):
            ax.text(j, i, str(v), ha="center", va="center", color="white" if v > cm.max() / 2 else "black")
        ax.set_xlabel("predicted")
        ax.set_ylabel("true")
        ax.set_title(f"validation confusion matrix (accuracy {metrics.get('val_accuracy', 0):.3f})")
        fig.tight_layout()
        files["confusion_matrix.png"] = out / "confusion_matrix.png"
        fig.savefig(files["confusion_matrix.png"], dpi=110)
        plt.close(fig)
    stages = [(s, metrics[s]["history"]) for s in ("stage1", "stage2") if "history" in metrics.get(s, {})]
    if stages:
        fig, axes = plt.subplots(1, 2, figsize=(10, 3.8))
        for stage, hist in stages:
            ep = [h["epoch"] for h in hist]
            for ax, key in zip(axes, ("loss", "acc")):
                ax.plot(ep, [h[f"train_{key}"] for h in hist], label=f"{stage} train")
                ax.plot(ep, [h[f"val_{key}"] for h in hist], "--", label=f"{stage} val")
        for ax, title in zip(axes, ("loss", "accuracy")):
            ax.set_title(title)
            ax.set_xlabel("epoch")
            ax.legend(fontsize=8)
        fig.tight_layout()
        files["learning_curves.png"] = out / "learning_curves.png"
        fig.savefig(files["learning_curves.png"], dpi=110)
        plt.close(fig)
    return files


def table(metrics: dict) -> str:
    """The printed comparison: our stages beside the design's figures."""
    def pct(v: Optional[float]) -> str:
        return "   -   " if v is None else f"{100 * v:6.2f}%"

    def f1(v: Optional[float]) -> str:
        return "  -   " if v is None else f"{v:.4f}"

    rows = [f"{'':34} {'train acc':>9} {'val acc':>8} {'val macro-F1':>12} {'val weighted-F1':>15}"]
    for stage, name in (("stage1", "stage 1 (frozen backbone)"), ("stage2", "stage 2 (fine-tuned)")):
        s = metrics.get(stage, {})
        if "skipped" in s:
            rows.append(f"{'celebface ' + name:34} skipped: {s['skipped']}")
        elif s:
            rows.append(f"{'celebface ' + name:34} {pct(s.get('train_accuracy')):>9} {pct(s.get('val_accuracy')):>8} "
                        f"{f1(s.get('val_macro_f1')):>12} {f1(s['val'].get('weighted_f1')):>15}")
        d_acc, d_f1 = DESIGN[stage]
        rows.append(f"{'  design ' + name:34} {'':>9} {pct(d_acc):>8} {f1(d_f1):>12}")
    rows.append(f"{'celebface final model (re-run)':34} {pct(metrics.get('train_accuracy')):>9} "
                f"{pct(metrics.get('val_accuracy')):>8} {f1(metrics.get('val_macro_f1')):>12} "
                f"{f1(metrics.get('val_weighted_f1')):>15}")
    if metrics.get("test_accuracy") is not None:
        rows.append(f"{'celebface final model, test split':34} {'':>9} {pct(metrics['test_accuracy']):>8} "
                    f"{f1(metrics.get('test_macro_f1')):>12}")
    rows.append("reference (MTCNN + dlib embeddings + linear SVM, 5 splits): celeb5 98.3%, sports5 93.6%, "
                "glint12 96.4% val accuracy")
    o = metrics.get("open_set")
    if o:
        rows.append(f"unknown threshold {o['threshold']:.4f} ({o['score']}): known faces accepted "
                    f"{100 * o['known_accept_rate']:.1f}%, simulated unknown faces rejected "
                    f"{100 * o['unknown_reject_rate']:.1f}%")
    return "\n".join(rows)
