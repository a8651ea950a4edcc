"""What training learns from: each image's features, computed once (the frozen part of a CNN, or a fixed
face-embedding network) and cached in WORK_DIR/cache."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Optional

import numpy as np
import torch

from ..config import TrainOptions
from ..faces.backbones import BackboneSpec, CNNBackbone, build_backbone
from ..faces.features import frozen_activations
from .cache import cache_key, cached_tensor, save_cached_tensor
from .data import TrainData
from .loop import predict_logits


@dataclass
class Features:
    """acts: what stage 2 trains on (frozen activations; the embeddings for fixed networks);
    pooled: what stage 1 and the gallery use; backbone: the CNN to fine-tune (None for fixed networks)."""

    acts: torch.Tensor
    pooled: torch.Tensor
    backbone: Optional[CNNBackbone]
    weights_used: str


def compute_features(spec: BackboneSpec, data: TrainData, opts: TrainOptions, device: str, progress: bool,
                     log: Callable[[str], None], activations: Optional[Callable] = None) -> Features:
    """:param activations: runs the frozen stages over the image files, with frozen_activations' signature
        (default: frozen_activations, here; celebface.scale passes one that runs on a Ray cluster)"""
    if spec.fine_tunable:
        return _cnn_features(spec, data, opts, device, progress, log, activations)
    return _fixed_features(spec, data, progress, model_identity(spec, opts))


def model_identity(spec: BackboneSpec, opts: TrainOptions) -> str:
    """The identity embedder a training run compares faces with (faces.identity.training_identity): dlib_face's
    features are its vectors; a CNN's gate, and the fusion backbones' face part, compare faces with them."""
    from ..faces.identity import training_identity

    return training_identity(opts.identity, not spec.fine_tunable)


def _fixed_features(spec: BackboneSpec, data: TrainData, progress: bool, identity: str) -> Features:
    """A fixed embedding network: the identity embedder's vectors, cached by file."""
    emb = face_embeddings(data, progress, identity)
    return Features(emb, emb, None, spec.weights.source)


def face_embeddings(data: TrainData, progress: bool, identity: Optional[str] = None) -> torch.Tensor:
    """The identity vectors of every image of `data.files` (rows in that order), cached in WORK_DIR/cache by file.
    Original faces are embedded as recognition embeds them (flip-averaged); augmented copies, which include mirror
    images already, with one view.

    :param identity: the identity embedder (faces/identity.py; None or "": the default)"""
    from ..data.embedding_cache import cached_embeddings
    from ..faces.identity import get_identity

    spec = get_identity(identity or None)
    augmented = {it["file"] for s in data.splits.values() for it in s if it.get("augmented")}
    emb = np.zeros((len(data.files), spec.dim), np.float32)
    for flip in (True, False):
        rows = [i for i, f in enumerate(data.files) if (f in augmented) != flip]
        if rows:
            emb[rows] = cached_embeddings(data.work_dir, [data.files[i] for i in rows], progress,
                                          desc="face embeddings", flip=flip, identity=spec.name)
    return torch.from_numpy(emb)


def _cnn_features(spec: BackboneSpec, data: TrainData, opts: TrainOptions, device: str, progress: bool,
                  log: Callable[[str], None], activations: Optional[Callable] = None) -> Features:
    """The frozen stages' activations, cached under a key of the backbone, weights, cut, precision and files."""
    backbone, weights_used = build_backbone(spec.name, opts.weights, opts.unfreeze)
    log(f"backbone {spec.name}: {weights_used}; precision {opts.precision} on {device}")
    stats = [(data.work_dir / f).stat() for f in data.files]
    sizes = [(f, st.st_size, st.st_mtime_ns) for f, st in zip(data.files, stats)]
    network = spec.same_network_as or spec.name
    key = cache_key(network, weights_used, backbone.cut, spec.input_size, opts.precision, sizes)
    cache_path = data.work_dir / "cache" / f"{network}-cut{backbone.cut}-{opts.precision}.safetensors"
    acts = cached_tensor(cache_path, key)
    if acts is None:
        acts = (activations or frozen_activations)(backbone, spec, [data.work_dir / f for f in data.files],
                                                   device=device, precision=opts.precision, progress=progress)
        save_cached_tensor(cache_path, key, acts)
    else:
        log(f"reusing cached frozen-layer activations ({cache_path.name})")
    backbone.eval().to(device)
    pooled = predict_logits(backbone.tunable, acts, device=device, precision=opts.precision)
    return Features(acts, pooled, backbone, weights_used)
