"""Figures of a training run: scores, per-stage reports, the open-set threshold, plots and the printed table."""
from __future__ import annotations

from pathlib import Path
from typing import Callable, Optional

import numpy as np
import torch

from ..faces.backbones import BackboneSpec
from ..recognition.openset import calibrate, gallery_scores, softmax_scores
from .loop import Split, predict_logits

#: The design's own published figures (validation accuracy, F1), for comparison.
DESIGN = {"stage1": (0.9441, 0.7204), "stage2": (0.9706, 0.8640)}


def scores(y_true: np.ndarray, y_pred: np.ndarray) -> dict:
    """Accuracy, macro-F1 and weighted-F1 (scikit-learn) of predicted labels."""
    from sklearn.metrics import f1_score

    if len(y_true) == 0:
        return {"accuracy": None, "macro_f1": None, "weighted_f1": None, "n": 0}
    return {"accuracy": float((y_true == y_pred).mean()),
            "macro_f1": float(f1_score(y_true, y_pred, average="macro", zero_division=0)),
            "weighted_f1": float(f1_score(y_true, y_pred, average="weighted", zero_division=0)),
            "n": int(len(y_true))}


def stage_report(net: Callable, data: dict[str, Split], history: list[dict], device: str, precision: str,
                 seconds: float) -> dict:
    """Scores of a trained stage on every split, with its history."""
    rep: dict = {"epochs": len(history), "seconds": round(seconds, 2), "history": history}
    for split, part in data.items():
        if len(part.X):
            pred = predict_logits(net, part.X, device=device, precision=precision).argmax(1).numpy()
            rep[split] = scores(part.y.numpy(), pred)
    rep["train_accuracy"] = rep["train"]["accuracy"]
    rep["val_accuracy"] = rep["val"]["accuracy"]
    rep["val_macro_f1"] = rep["val"]["macro_f1"]
    return rep


def calibrate_open_set(spec: BackboneSpec, head: torch.nn.Module, Xv: torch.Tensor, yv: np.ndarray,
                       gallery: np.ndarray, gallery_labels: np.ndarray) -> dict:
    """The "unknown" threshold on validation faces, unknown people simulated by leaving each person out."""
    probs = predict_logits(head, Xv).softmax(1).numpy()
    pred = probs.argmax(1)
    ok = pred == yv
    if spec.open_set_score == "gallery":
        known = gallery_scores(Xv.numpy(), gallery, gallery_labels, pred)[ok]
        unknown = gallery_scores(Xv.numpy(), gallery, gallery_labels, pred, exclude=yv)
        method = "gallery cosine similarity"
    else:
        known = softmax_scores(probs)[ok]
        unknown = softmax_scores(probs, exclude=yv)
        method = "softmax probability"
    openset = calibrate(known, unknown)
    openset.update(score=method, how=("threshold maximising known-accept + unknown-reject rates on validation; "
                                      "unknown people simulated by leaving each validation person out in turn"))
    return openset


def _rate(r: dict) -> str:
    """"97.1% (95% CI 93.0-98.9%, n=68)"."""
    return f"{100 * r['rate']:.1f}% (95% CI {100 * r['low']:.1f}-{100 * r['high']:.1f}%, n={r['n']})"


def write_plots(metrics: dict, classes: list[str], out: Path) -> dict[str, Path]:
    """confusion_matrix.png and learning_curves.png; returns {file name: path}."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    files: dict[str, Path] = {}
    cm = metrics.get("val_report", {}).get("confusion_matrix")
    if cm is not None:
        cm = np.array(cm)
        side = max(4.0, 1.2 + 0.6 * len(classes))  # wide enough for the title with few classes
        fig, ax = plt.subplots(figsize=(side, max(3.6, 1.0 + 0.6 * len(classes))))
        ax.imshow(cm, cmap="Blues")
        ax.set_xticks(range(len(classes)), classes, rotation=45, ha="right", fontsize=8)
        ax.set_yticks(range(len(classes)), classes, fontsize=8)
        for (i, j), v in np.ndenumerate(cm):
            ax.text(j, i, str(v), ha="center", va="center", color="white" if v > cm.max() / 2 else "black")
        ax.set_xlabel("predicted")
        ax.set_ylabel("true")
        ax.set_title(f"validation confusion matrix\n(accuracy {metrics.get('val_accuracy', 0):.3f})", fontsize=9)
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


def _photo_rows(metrics: dict, pct: Callable, f1: Callable) -> list[str]:
    """Rows (b) and (c) of `evaluate`: validation photos through predict (training/photo_eval.py)."""
    rows = []
    for key, name in (("val_photo_level", "(b) photos through predict"), ("val_single_face", "(c) single-face photos")):
        r = metrics.get(key)
        if r and r.get("n"):
            extra = f"n={r['n']}, {r['suspects']} suspect, {r['outside_split']} left out by prepare"
            if r.get("predict_seconds_per_photo") is not None:
                extra += f", {r['predict_seconds_per_photo']:.3f} s/photo"
            missed = {k: v for k, v in (r.get("missed_as") or {}).items() if v}
            if missed:
                extra += "; missed: " + ", ".join(f"{v} {k}" for k, v in missed.items())
            rows.append(f"{name:34} {'':>9} {pct(r['accuracy']):>8} {f1(r['macro_f1']):>12}   ({extra})")
    if rows:
        b, a = metrics["val_photo_level"]["accuracy"], metrics.get("val_accuracy")
        gap = "" if a is None else f"; (b) - (a): {100 * (b - a):+.2f} points"
        rows.insert(0, f"validation three ways: (a) the face crops prepare chose (final model above); (b) every "
                       f"validation photo, suspects included, through predict; (c) single-face photos{gap}")
    return rows


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
    rows.append(f"{'(a) final model, face crops':34} {pct(metrics.get('train_accuracy')):>9} "
                f"{pct(metrics.get('val_accuracy')):>8} {f1(metrics.get('val_macro_f1')):>12} "
                f"{f1(metrics.get('val_weighted_f1')):>15}")
    if metrics.get("test_accuracy") is not None:
        rows.append(f"{'celebface final model, test split':34} {'':>9} {pct(metrics['test_accuracy']):>8} "
                    f"{f1(metrics.get('test_macro_f1')):>12}")
    rows += _photo_rows(metrics, pct, f1)
    o = metrics.get("open_set")
    if o and "known_accepted" in o:
        rows.append(f"unknown threshold {o['threshold']:.4f} (face verification): known faces accepted "
                    f"{_rate(o['known_accepted'])}, real strangers rejected {_rate(o['strangers_rejected'])}, "
                    f"simulated unknown faces rejected {_rate(o['simulated_rejected'])}")
    elif o:
        rows.append(f"unknown threshold {o['threshold']:.4f} ({o['score']}): known faces accepted "
                    f"{100 * o['known_accept_rate']:.1f}%, simulated unknown faces rejected "
                    f"{100 * o['unknown_reject_rate']:.1f}%")
    return "\n".join(rows)
