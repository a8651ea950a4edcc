"""`celebface train`: two-stage transfer learning on a prepared WORK_DIR, written as a model bundle.

Stage 1 trains the design's head (Dense 256 ReLU, Dropout 0.5) on the frozen backbone's pooled features.
Stage 2 fine-tunes the deeper backbone stages with a regularised head, a lower learning rate,
ReduceLROnPlateau and early stopping that restores the best weights. The frozen part runs once per image.
"""
from __future__ import annotations

import copy
import math
import random
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Callable, Optional

import numpy as np
import torch
from torch import nn

from .backbones import build_backbone, get_spec
from .bundle import Bundle, save_bundle
from .extract import DataError
from .features import (autocast, cache_key, cached_tensor, frozen_activations, resolve_device, resolve_precision,
                       save_cached_tensor)
from .fileio import read_json
from .model import TunableNet, make_head
from .openset import calibrate, gallery_scores, softmax_scores


@dataclass
class TrainOptions:
    backbone: str = "efficientnet_lite0"
    weights: str = "imagenet"  # "imagenet", a file path, or "none"
    unfreeze: Optional[int] = None  # backbone stages fine-tuned in stage 2 (None: the backbone's default)
    stage2: bool = True
    epochs1: int = 40
    epochs2: int = 12
    lr1: float = 1e-3
    lr2: float = 1e-3
    batch_size: int = 64
    weight_decay: float = 1e-4
    patience: int = 5
    seed: int = 0
    device: str = "auto"
    precision: str = "auto"  # "fp32", "bf16" (autocast), or "auto": bf16 where the hardware runs it fast
    threads: Optional[int] = None


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def load_dataset(work_dir: Path) -> dict:
    path = Path(work_dir) / "dataset.json"
    if not path.is_file():
        raise DataError(f"{work_dir} is not a prepared folder (no dataset.json); run "
                        f"`celebface prepare DATA_DIR --out {work_dir}` first")
    return read_json(path)


@torch.no_grad()
def predict_logits(net: Callable, X: torch.Tensor, batch_size: int = 256, device: str = "cpu",
                   precision: str = "fp32") -> torch.Tensor:
    out = []
    for i in range(0, len(X), batch_size):
        with autocast(device, precision):
            out.append(net(X[i:i + batch_size].to(device)).float().cpu())
    return torch.cat(out) if out else torch.zeros(0)


def fit(net: nn.Module, X: torch.Tensor, y: torch.Tensor, Xv: torch.Tensor, yv: torch.Tensor,
        param_groups: list[dict], epochs: int, patience: int, batch_size: int, seed: int, weight_decay: float,
        desc: str, progress: bool, device: str = "cpu", precision: str = "fp32",
        label_smoothing: float = 0.0) -> list[dict]:
    """A plain training loop: AdamW, ReduceLROnPlateau on val loss, early stopping restoring the best weights."""
    from tqdm import tqdm

    opt = torch.optim.AdamW(param_groups, weight_decay=weight_decay)
    sched = torch.optim.lr_scheduler.ReduceLROnPlateau(opt, mode="min", factor=0.3, patience=max(1, patience // 2))
    loss_fn = nn.CrossEntropyLoss(label_smoothing=label_smoothing)
    gen = torch.Generator().manual_seed(seed)
    best_loss, best_state, bad, history = math.inf, copy.deepcopy(net.state_dict()), 0, []
    n = len(X)
    for epoch in range(epochs):
        net.train()
        perm = torch.randperm(n, generator=gen)
        tot_loss, tot_ok, seen = 0.0, 0, 0
        bar = tqdm(range(0, n, batch_size), desc=f"{desc} epoch {epoch + 1}/{epochs}", leave=False,
                   disable=not progress, dynamic_ncols=True, unit="batch")
        for i in bar:
            idx = perm[i:i + batch_size]
            if len(idx) < 2:  # BatchNorm needs two samples
                continue
            xb, yb = X[idx].to(device), y[idx].to(device)
            with autocast(device, precision):
                logits = net(xb)
            loss = loss_fn(logits.float(), yb)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            tot_loss += float(loss.detach()) * len(idx)
            tot_ok += int((logits.argmax(1) == yb).sum())
            seen += len(idx)
            bar.set_postfix(loss=f"{tot_loss / seen:.3f}", acc=f"{tot_ok / seen:.3f}")
        net.eval()
        logits_v = predict_logits(net, Xv, device=device, precision=precision)
        val_loss = float(nn.functional.cross_entropy(logits_v, yv))
        val_acc = float((logits_v.argmax(1) == yv).float().mean())
        history.append({"epoch": epoch + 1, "train_loss": tot_loss / max(seen, 1), "train_acc": tot_ok / max(seen, 1),
                        "val_loss": val_loss, "val_acc": val_acc, "lr": opt.param_groups[0]["lr"]})
        if progress:
            tqdm.write(f"{desc} epoch {epoch + 1}: loss {tot_loss / max(seen, 1):.4f} acc {tot_ok / max(seen, 1):.4f}"
                       f" | val loss {val_loss:.4f} val acc {val_acc:.4f}")
        sched.step(val_loss)
        if val_loss < best_loss - 1e-4:
            best_loss, best_state, bad = val_loss, copy.deepcopy(net.state_dict()), 0
        else:
            bad += 1
            if bad >= patience:
                break
    net.load_state_dict(best_state)
    net.eval()
    return history


def scores(y_true: np.ndarray, y_pred: np.ndarray) -> dict:
    from sklearn.metrics import f1_score

    if len(y_true) == 0:
        return {"accuracy": None, "macro_f1": None, "weighted_f1": None, "n": 0}
    return {"accuracy": float((y_true == y_pred).mean()),
            "macro_f1": float(f1_score(y_true, y_pred, average="macro", zero_division=0)),
            "weighted_f1": float(f1_score(y_true, y_pred, average="weighted", zero_division=0)),
            "n": int(len(y_true))}


def stage_report(net: Callable, data: dict[str, tuple[torch.Tensor, torch.Tensor]], history: list[dict],
                 device: str, precision: str, seconds: float) -> dict:
    rep: dict = {"epochs": len(history), "seconds": round(seconds, 2), "history": history}
    for split, (X, y) in data.items():
        if len(X):
            pred = predict_logits(net, X, device=device, precision=precision).argmax(1).numpy()
            rep[split] = scores(y.numpy(), pred)
    rep["train_accuracy"] = rep["train"]["accuracy"]
    rep["val_accuracy"] = rep["val"]["accuracy"]
    rep["val_macro_f1"] = rep["val"]["macro_f1"]
    return rep


def train(work_dir: Path, model_dir: Path, opts: TrainOptions = TrainOptions(), progress: bool = True,
          log: Callable[[str], None] = print) -> Bundle:
    """Train on WORK_DIR (made by `prepare`) and write the bundle to MODEL_DIR; returns the bundle."""
    t_start = time.time()
    work_dir = Path(work_dir)
    spec = get_spec(opts.backbone)
    if opts.precision not in ("auto", "fp32", "bf16"):
        raise DataError("--precision must be auto, fp32 or bf16")
    device = resolve_device(opts.device)
    opts = replace(opts, precision=resolve_precision(opts.precision, device))
    if opts.threads:
        torch.set_num_threads(opts.threads)
    seed_everything(opts.seed)
    ds = load_dataset(work_dir)
    classes = ds["classes"]
    splits = ds["splits"]
    if not splits["train"] or not splits["val"]:
        raise DataError(f"{work_dir}/dataset.json has an empty train or val split; run prepare again")
    files = sorted({it["file"] for s in ("train", "val", "test") for it in splits[s]})
    pos = {f: i for i, f in enumerate(files)}
    ys = {s: torch.tensor([it["label"] for it in splits[s]], dtype=torch.long) for s in ("train", "val", "test")}
    rows = {s: torch.tensor([pos[it["file"]] for it in splits[s]], dtype=torch.long) for s in ("train", "val", "test")}
    timings: dict[str, float] = {}

    # --- features of the frozen part, cached ---------------------------------------------------------
    t0 = time.time()
    backbone = None
    if spec.kind == "embedding":
        from .faceembed import cached_embeddings

        weights_used = "dlib_face_recognition_resnet_model_v1 (pip face-recognition-models)"
        acts = torch.from_numpy(cached_embeddings(work_dir, files, progress, desc="face embeddings"))
        pooled = acts
    else:
        backbone, weights_used = build_backbone(spec.name, opts.weights, opts.unfreeze)
        log(f"backbone {spec.name}: {weights_used}; precision {opts.precision} on {device}")
        stats = [(work_dir / f).stat() for f in files]
        sizes = [(f, st.st_size, st.st_mtime_ns) for f, st in zip(files, stats)]
        key = cache_key(spec.name, weights_used, backbone.cut, spec.input_size, opts.precision, sizes)
        cache_path = work_dir / "cache" / f"{spec.name}-cut{backbone.cut}-{opts.precision}.safetensors"
        acts = cached_tensor(cache_path, key)
        if acts is None:
            acts = frozen_activations(backbone, spec, [work_dir / f for f in files], device=device,
                                      precision=opts.precision, progress=progress)
            save_cached_tensor(cache_path, key, acts)
        else:
            log(f"reusing cached frozen-layer activations ({cache_path.name})")
        backbone.eval().to(device)
        pooled = predict_logits(backbone.tunable, acts, device=device, precision=opts.precision)
    timings["features_s"] = time.time() - t0
    D = pooled.shape[1]
    C = len(classes)

    def part(X: torch.Tensor) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
        return {s: (X[rows[s]], ys[s]) for s in ("train", "val", "test") if len(rows[s])}

    # --- stage 1: the design's head on frozen features ------------------------------------------------
    t0 = time.time()
    seed_everything(opts.seed)
    head1 = make_head("design", D, C).to(device)
    P = part(pooled)
    hist1 = fit(head1, *P["train"], *P["val"], [{"params": head1.parameters(), "lr": opts.lr1}], opts.epochs1,
                opts.patience, opts.batch_size, opts.seed, opts.weight_decay, "stage 1", progress, device)
    stage1 = stage_report(head1, P, hist1, device, "fp32", time.time() - t0)
    log(f"stage 1: train acc {stage1['train_accuracy']:.4f}  val acc {stage1['val_accuracy']:.4f}  "
        f"val macro-F1 {stage1['val_macro_f1']:.4f}  ({stage1['epochs']} epochs, {stage1['seconds']:.1f}s)")
    metrics: dict = {"backbone": spec.name, "weights": weights_used, "stage1": stage1}
    final_head, head_kind = head1, "design"

    # --- stage 2: fine-tune the deeper backbone stages --------------------------------------------------
    if spec.kind == "embedding":
        metrics["stage2"] = {"skipped": f"{spec.name} is a fixed network (dlib, C++): there are no layers to "
                                        f"fine-tune, so the stage-1 model is final"}
    elif not opts.stage2 or backbone is None or backbone.depth == 0:
        metrics["stage2"] = {"skipped": "fine-tuning turned off (--no-stage2 or --unfreeze 0)"}
    else:
        t0 = time.time()
        seed_everything(opts.seed + 1)
        head2 = make_head("finetune", D, C).to(device)
        # Warm the new head up on the (still frozen) pooled features: cheap, and keeps early gradients sane.
        fit(head2, *P["train"], *P["val"], [{"params": head2.parameters(), "lr": opts.lr1}], 8, 3,
            opts.batch_size, opts.seed, opts.weight_decay, "stage 2 head warm-up", False, device)
        net = TunableNet(backbone, head2).to(device)
        A = part(acts)
        groups = [{"params": backbone.tunable_parameters(), "lr": opts.lr2},
                  {"params": head2.parameters(), "lr": opts.lr2 * 5}]
        hist2 = fit(net, *A["train"], *A["val"], groups, opts.epochs2, opts.patience, opts.batch_size, opts.seed,
                    opts.weight_decay * 10, "stage 2", progress, device, opts.precision, label_smoothing=0.1)
        stage2 = stage_report(net, A, hist2, device, opts.precision, time.time() - t0)
        stage2["unfrozen_stages"] = backbone.depth
        log(f"stage 2: train acc {stage2['train_accuracy']:.4f}  val acc {stage2['val_accuracy']:.4f}  "
            f"val macro-F1 {stage2['val_macro_f1']:.4f}  ({stage2['epochs']} epochs, {stage2['seconds']:.1f}s)")
        metrics["stage2"] = stage2
        final_head, head_kind = head2, "finetune"
        pooled = predict_logits(backbone.tunable, acts, device=device, precision=opts.precision)
    final = metrics["stage2"] if "history" in metrics["stage2"] else stage1
    for k in ("train_accuracy", "val_accuracy", "val_macro_f1"):
        metrics[k] = final[k]
    metrics["val_weighted_f1"] = final["val"]["weighted_f1"]
    metrics["final_stage"] = 2 if final is not stage1 else 1

    # --- gallery and "unknown" threshold -----------------------------------------------------------------
    final_head.eval()
    train_items = splits["train"]
    keep = [i for i, it in enumerate(train_items) if spec.kind == "embedding" or not it["augmented"]]
    gallery = pooled[rows["train"][keep]].numpy()
    gallery_labels = ys["train"][keep].numpy()
    Xv, yv = pooled[rows["val"]], ys["val"].numpy()
    probs_v = predict_logits(final_head, Xv).softmax(1).numpy()
    pred_v = probs_v.argmax(1)
    ok = pred_v == yv
    if spec.kind == "embedding":
        known = gallery_scores(Xv.numpy(), gallery, gallery_labels, pred_v)[ok]
        unknown = gallery_scores(Xv.numpy(), gallery, gallery_labels, pred_v, exclude=yv)
        method = "gallery cosine similarity"
    else:
        known = softmax_scores(probs_v)[ok]
        unknown = softmax_scores(probs_v, exclude=yv)
        method = "softmax probability"
    openset = calibrate(known, unknown)
    openset.update(score=method, how=("threshold maximising known-accept + unknown-reject rates on validation; "
                                      "unknown people simulated by leaving each validation person out in turn"))
    metrics["open_set"] = openset
    log(f"unknown threshold ({method}): {openset['threshold']:.4f}  known accepted "
        f"{openset['known_accept_rate']:.3f}, simulated unknown rejected {openset['unknown_reject_rate']:.3f}")
    timings["total_s"] = time.time() - t_start
    metrics["timings"] = {k: round(v, 2) for k, v in timings.items()}
    metrics["options"] = asdict(opts)

    state = {f"head.{k}": v for k, v in final_head.state_dict().items()}
    if backbone is not None:
        state.update({f"backbone.{k}": v for k, v in backbone.state_dict().items()})
    prep = ds.get("options", {})
    config = {
        "classes": classes, "backbone": spec.name, "backbone_depth": backbone.depth if backbone else 0,
        "head": head_kind, "feature_dim": D, "weights": weights_used,
        "preprocessing": {"input_size": spec.input_size, "mean": list(spec.mean), "std": list(spec.std),
                          "margin": prep.get("margin", 0.2), "crop_size": prep.get("size", 224),
                          "detect_size": prep.get("detect_size", 800), "min_prob": prep.get("min_prob", 0.9)},
        "threshold": openset["threshold"], "score": method, "created": time.strftime("%Y-%m-%dT%H:%M:%S"),
        "train_options": asdict(opts),
    }
    bundle = Bundle(config, state, gallery, gallery_labels, metrics)
    save_bundle(bundle, Path(model_dir))
    return bundle
