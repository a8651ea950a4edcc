"""`celebface train`: two-stage transfer learning on a prepared WORK_DIR, written as a model bundle.

Stage 1 trains the design's head (Dense 256 ReLU, Dropout 0.5) on the frozen backbone's pooled features.
Stage 2 fine-tunes the deeper backbone stages with a regularised head, a lower learning rate,
ReduceLROnPlateau and early stopping that restores the best weights. The frozen part runs once per image.
"""
from __future__ import annotations

import time
from dataclasses import asdict, replace
from pathlib import Path
from typing import Callable, Optional

import torch

from ..config import TrainOptions
from ..faces.backbones import sized_spec
from ..faces.identity import get_identity
from ..recognition.bundle import Bundle, save_bundle
from ..recognition.fusion import fusion_config
from ..recognition.heads import make_head
from ..runtime import resolve_device, resolve_precision, set_threads
from .data import TrainData, load_data
from .features import Features, compute_features, face_embeddings
from .loop import FitConfig, Split, fit, plateau_patience, predict_logits, seed_everything
from .gate import verification_gate
from .report import calibrate_open_set, scores, stage_report
from .heads import TunableNet


def train(work_dir: Path, model_dir: Path, opts: TrainOptions = TrainOptions(), progress: bool = True,
          log: Callable[[str], None] = print, stage2: Optional[Callable] = None,
          activations: Optional[Callable] = None) -> Bundle:
    """Train on WORK_DIR (made by `prepare`) and write the bundle to MODEL_DIR; returns the bundle.

    :param work_dir: a folder made by `celebface prepare`
    :param model_dir: where the model goes (a new folder, or an existing celebface model, replaced safely)
    :param opts: the training options (see TrainOptions)
    :param stage2: runs stage 2, with train_stage2's signature (default: train_stage2 here; celebface.scale
        passes one that runs on a Ray cluster)
    :param activations: builds the frozen-feature cache, with faces.features.frozen_activations' signature
        (default: that function; celebface.scale passes one that runs on Ray Data)
    """
    t_start = time.time()
    opts.check()
    spec = sized_spec(opts.backbone, opts.input_size)
    device = resolve_device(opts.device)
    opts = replace(opts, precision=resolve_precision(opts.precision, device))
    set_threads(opts.threads)
    from ..recognition.bundle import check_writable

    check_writable(Path(model_dir))  # refuse a folder that is not a model before hours of work
    seed_everything(opts.seed)
    data = load_data(Path(work_dir), originals_only=spec.open_set_score == "gallery")
    t0 = time.time()
    feats = compute_features(spec, data, opts, device, progress, log, activations)
    features_s = time.time() - t0
    stage1, head1 = train_stage1(feats, data, opts, device, progress)
    log(_stage_line("stage 1", stage1))
    metrics: dict = {"backbone": spec.name, "weights": feats.weights_used, "stage1": stage1}
    final_head, head_kind = head1, "design"
    if feats.backbone is None:
        metrics["stage2"] = {"skipped": f"{spec.name} is a fixed network: there are no layers to fine-tune, so "
                                        f"the stage-1 model is final"}
    elif not opts.stage2 or feats.backbone.depth == 0:
        metrics["stage2"] = {"skipped": "fine-tuning turned off (--no-stage2 or --unfreeze 0)"}
    else:
        rep2, final_head = (stage2 or train_stage2)(feats, data, opts, device, progress)
        log(_stage_line("stage 2", rep2))
        metrics["stage2"], head_kind = rep2, "finetune"
        feats.pooled = predict_logits(feats.backbone.tunable, feats.acts, device=device, precision=opts.precision)
    _final_figures(metrics, stage1)
    bundle = _assemble(spec, data, feats, final_head, head_kind, metrics, opts, log)
    metrics["timings"] = {"features_s": round(features_s, 2), "total_s": round(time.time() - t_start, 2)}
    save_bundle(bundle, Path(model_dir))
    return bundle


def _stage_line(name: str, rep: dict) -> str:
    return (f"{name}: train acc {rep['train_accuracy']:.4f}  val acc {rep['val_accuracy']:.4f}  "
            f"val macro-F1 {rep['val_macro_f1']:.4f}  ({rep['epochs']} epochs, {rep['seconds']:.1f}s)")


def _parts(X: torch.Tensor, data: TrainData, targets: Optional[torch.Tensor] = None) -> dict[str, Split]:
    """Each split's rows of X (and of the embedding targets, for training only)."""
    return {s: Split(X[data.rows[s]], data.labels[s],
                     targets[data.rows[s]] if targets is not None and s == "train" else None)
            for s in ("train", "val", "test") if len(data.rows[s])}


def train_stage1(feats: Features, data: TrainData, opts: TrainOptions, device: str,
                 progress: bool) -> tuple[dict, torch.nn.Module]:
    """The design's head on the frozen backbone's pooled features."""
    t0 = time.time()
    seed_everything(opts.seed)
    head = make_head("design", feats.pooled.shape[1], len(data.classes)).to(device)
    parts = _parts(feats.pooled, data)
    cfg = FitConfig(opts.epochs1, opts.lr1, opts.patience, opts.batch_size, opts.seed, opts.weight_decay,
                    desc="stage 1", progress=progress, device=device)
    history = fit(head, parts["train"], parts["val"], [{"params": head.parameters(), "lr": opts.lr1}], cfg)
    return stage_report(head, parts, history, device, "fp32", time.time() - t0), head


def train_stage2(feats: Features, data: TrainData, opts: TrainOptions, device: str,
                 progress: bool) -> tuple[dict, torch.nn.Module]:
    """Fine-tune the deeper backbone stages on cached activations with a regularised head."""
    t0 = time.time()
    net, acts, cfg = stage2_setup(feats, data, opts, device, progress)
    history = fit(net, acts["train"], acts["val"], stage2_groups(net, opts), cfg)
    return stage2_report(net, acts, history, opts, device, t0), net.head


def stage2_setup(feats: Features, data: TrainData, opts: TrainOptions, device: str,
                 progress: bool) -> tuple[TunableNet, dict[str, Split], FitConfig]:
    """Stage 2's network (the unfrozen stages and a warmed-up head), its data and its FitConfig."""
    assert feats.backbone is not None
    seed_everything(opts.seed + 1)
    head = make_head("finetune", feats.pooled.shape[1], len(data.classes)).to(device)
    pooled = _parts(feats.pooled, data)
    # Warm the new head up on the (still frozen) pooled features: cheap, and keeps early gradients sane.
    warm = FitConfig(8, opts.lr1, 3, opts.batch_size, opts.seed, opts.weight_decay, device=device)
    fit(head, pooled["train"], pooled["val"], [{"params": head.parameters(), "lr": opts.lr1}], warm)
    targets = distill_targets(data, progress) if opts.distill > 0 else None
    distill = (feats.pooled.shape[1], targets.shape[1]) if targets is not None else (0, 0)
    net = TunableNet(feats.backbone, head, opts.act_dropout, distill).to(device)
    cfg = FitConfig(opts.epochs2, opts.lr2, opts.patience2, opts.batch_size, opts.seed, opts.weight_decay * 10,
                    lr_patience=plateau_patience(opts.patience), label_smoothing=0.1, cutmix=opts.cutmix,
                    distill=opts.distill, desc="stage 2", schedule=opts.schedule, progress=progress,
                    device=device, precision=opts.precision)
    return net, _parts(feats.acts, data, targets), cfg


def distill_targets(data: TrainData, progress: bool) -> torch.Tensor:
    """What `--distill` teaches: each image's face embedding, less the training images' mean, at unit length. dlib's
    embeddings lie in one narrow cone (two different people's faces score a high cosine), so the raw vectors are
    matched by predicting their mean; centred, what is left is what tells people apart."""
    emb = face_embeddings(data, progress, identity="dlib")  # the embedder --distill was measured with
    centred = emb - emb[data.rows["train"]].mean(dim=0)
    return torch.nn.functional.normalize(centred, dim=1)


def stage2_groups(net: TunableNet, opts: TrainOptions) -> list[dict]:
    """The optimiser's parameter groups: the unfrozen stages at lr2, the head (and the distillation layer) at 5x."""
    extra = list(net.distill.parameters()) if net.distill is not None else []
    return [{"params": list(net.backbone.tunable_parameters()), "lr": opts.lr2},
            {"params": list(net.head.parameters()) + extra, "lr": opts.lr2 * 5}]


def stage2_report(net: TunableNet, acts: dict[str, Split], history: list[dict], opts: TrainOptions, device: str,
                  t0: float) -> dict:
    rep = stage_report(net, acts, history, device, opts.precision, time.time() - t0)
    rep["unfrozen_stages"] = net.backbone.depth
    return rep


def _final_figures(metrics: dict, stage1: dict) -> None:
    final = metrics["stage2"] if "history" in metrics["stage2"] else stage1
    for k in ("train_accuracy", "val_accuracy", "val_macro_f1"):
        metrics[k] = final[k]
    metrics["val_weighted_f1"] = final["val"]["weighted_f1"]
    metrics["final_stage"] = 2 if final is not stage1 else 1


def _fusion_figures(metrics: dict, gate, data: TrainData, temperature: float, log: Callable[[str], None]) -> None:
    """The fusion backbone's validation figures (head and face gallery together) become the model's final ones;
    the head's own stay in stage 1 / stage 2."""
    rep = scores(data.labels["val"].numpy(), gate.val_pred)
    metrics["fusion"] = {"temperature": temperature, "val": rep, "head_val_accuracy": metrics["val_accuracy"]}
    metrics["val_accuracy"], metrics["val_macro_f1"] = rep["accuracy"], rep["macro_f1"]
    metrics["val_weighted_f1"] = rep["weighted_f1"]
    log(f"fusion (head + face embedding, temperature {temperature}): val acc {rep['accuracy']:.4f}  "
        f"macro-F1 {rep['macro_f1']:.4f} (head alone {metrics['fusion']['head_val_accuracy']:.4f})")


def _assemble(spec, data: TrainData, feats: Features, head: torch.nn.Module, head_kind: str, metrics: dict,
              opts: TrainOptions, log: Callable[[str], None]) -> Bundle:
    """The bundle: weights, the training faces' features (gallery), the calibrated threshold, the config."""
    head.eval()
    gate = verification_gate(spec, data, feats, head, opts, log)
    metrics["open_set"] = gate.calibration.to_dict()
    if spec.face_fusion:
        _fusion_figures(metrics, gate, data, spec.face_fusion, log)
    if spec.fine_tunable:  # the softmax threshold, kept for reference: the verification gate decides "unknown"
        metrics["open_set_softmax"] = calibrate_open_set(spec, head, feats.pooled[data.rows["val"]],
                                                         data.labels["val"].numpy(), gate.gallery, gate.labels)
    metrics["options"] = asdict(opts)
    state = {f"head.{k}": v for k, v in head.state_dict().items()}
    if feats.backbone is not None:
        state.update({f"backbone.{k}": v for k, v in feats.backbone.state_dict().items()})
    prep = data.options
    config = {
        "classes": data.classes, "backbone": spec.name,
        "backbone_depth": feats.backbone.depth if feats.backbone else 0,
        "head": head_kind, "feature_dim": int(feats.pooled.shape[1]), "weights": feats.weights_used,
        "preprocessing": {"input_size": spec.input_size, "mean": list(spec.mean), "std": list(spec.std),
                          "margin": prep.get("margin", 0.2), "crop_size": prep.get("size", 224),
                          "detect_size": prep.get("detect_size", 800), "min_prob": prep.get("min_prob", 0.9),
                          "align": bool(prep.get("align", False))},
        "threshold": gate.calibration.threshold, "score": "gallery",
        "created": time.strftime("%Y-%m-%dT%H:%M:%S"), "train_options": asdict(opts),
        "identity": gate.identity, "gallery_backbone": get_identity(gate.identity).recorded_as,
    }
    if spec.fine_tunable:
        config.update(threshold=metrics["open_set_softmax"]["threshold"], score="softmax",
                      verify={"threshold": gate.calibration.threshold})
    if spec.face_fusion:
        config["fusion"] = fusion_config(spec.face_fusion)
    return Bundle(config, state, gate.gallery, gate.labels, metrics)
