"""The "unknown" gate a training run leaves in its bundle: a gallery of identity vectors (faces/identity.py) of the
training faces and a verification threshold calibrated on validation faces and real strangers (recognition/verify.py)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch

from ..config import TrainOptions
from ..recognition.fusion import fused_log_scores
from ..recognition.openset import VerifyCalibration, best_per_person, calibrate_verification
from .data import TrainData
from .features import Features, model_identity
from .loop import predict_logits
from .strangers import collect_strangers


@dataclass
class Gate:
    identity: str  # the identity embedder of the gallery's vectors
    gallery: np.ndarray  # (G, dim) identity vectors of the training faces, imported into the model's gallery
    labels: np.ndarray  # (G,) their people
    calibration: VerifyCalibration
    val_pred: np.ndarray  # the model's best person for each validation face (as predict names them)


def verification_gate(spec, data: TrainData, feats: Features, head: torch.nn.Module, opts: TrainOptions,
                      log: Callable[[str], None]) -> Gate:
    """The gallery and the calibrated threshold. For CNN backbones the gallery holds the original (not augmented)
    training faces; for dlib_face, every training face's embedding (those are its features already).

    :param head: the final head, which names the validation faces of CNN backbones
    """
    from ..data.embedding_cache import cached_embeddings
    from ..faces.identity import get_identity

    identity = get_identity(model_identity(spec, opts)).name
    log(f"unknown gate: {identity} vectors of the training, validation and strangers' faces")
    if spec.fine_tunable:
        keep = [it for it in data.splits["train"] if not it["augmented"]]
        gallery = cached_embeddings(data.work_dir, [it["file"] for it in keep], False, flip=True, identity=identity)
        labels = np.array([it["label"] for it in keep], np.int64)
        val = cached_embeddings(data.work_dir, [it["file"] for it in data.splits["val"]], False, flip=True,
                                identity=identity)
        val_pred = _best_people(spec, predict_logits(head, feats.pooled[data.rows["val"]]), val, gallery, labels)
    else:
        gallery, labels = feats.pooled[data.rows["train"]].numpy(), data.labels["train"].numpy()
        val = feats.pooled[data.rows["val"]].numpy()
        val_pred = best_per_person(val, gallery, labels, len(data.classes)).argmax(1)
    strangers = collect_strangers(data.work_dir, opts.strangers, float(data.options.get("margin", 0.2)),
                                  data.options, name=_head_namer(spec, feats, head, gallery, labels),
                                  identity=identity)
    index = {name: i for i, name in enumerate(data.classes)}
    people = np.array([index.get(p, -1) for p in strangers.people], np.int64)
    cal = calibrate_verification(gallery, labels, val, data.labels["val"].numpy(), val_pred, strangers.embeddings,
                                 people, strangers.sources, strangers.named, identity, _chances(spec, data))
    log(f"unknown threshold (face verification): {cal.threshold:.4f}  known faces accepted "
        f"{cal.known_accepted.rate:.3f} (n={cal.known_accepted.n}), real strangers rejected "
        f"{cal.strangers_rejected.rate:.3f} (n={cal.strangers_rejected.n}), simulated unknown rejected "
        f"{cal.simulated_rejected.rate:.3f} (n={cal.simulated_rejected.n}){'; ' + cal.note if cal.note else ''}")
    return Gate(identity, np.ascontiguousarray(gallery, np.float32), labels, cal, np.asarray(val_pred))


def _head_namer(spec, feats: Features, head: torch.nn.Module, gallery: np.ndarray, labels: np.ndarray):
    """The trained CNN and head (with the face gallery, for the fusion backbone) as a function naming face crops
    from the crops and their identity vectors (None for models that name by the gallery)."""
    if not spec.fine_tunable or feats.backbone is None:
        return None
    from ..faces.features import CNNEmbedder

    device = next(head.parameters()).device
    embedder = CNNEmbedder(feats.backbone, spec, str(device))

    def name(crops, face_embeddings: np.ndarray) -> np.ndarray:
        with torch.inference_mode():
            logits = head(torch.from_numpy(embedder.embed(crops)).to(device)).float().cpu()
        return _best_people(spec, logits, face_embeddings, gallery, labels)

    return name


def _best_people(spec, logits: torch.Tensor, face_embeddings: np.ndarray, gallery: np.ndarray,
                 labels: np.ndarray) -> np.ndarray:
    """The person a CNN model names each face: its head's best, or for the fusion backbone the best of the head and
    the face gallery together (recognition/fusion.py)."""
    if not spec.face_fusion:
        return logits.argmax(1).numpy()
    sims = best_per_person(face_embeddings, gallery, labels, logits.shape[1])
    return fused_log_scores(logits.log_softmax(1).numpy(), sims, spec.face_fusion).argmax(1)


def _chances(spec, data: TrainData) -> int:
    """How many distinct training faces a stranger's face is compared with: those of the person a CNN's head names
    (the most any person has), every one for a model naming by its gallery (augmented copies are not new faces)."""
    originals = [it["label"] for it in data.splits["train"] if not it["augmented"]]
    if not originals:
        return 1
    return int(np.bincount(originals).max()) if spec.fine_tunable else len(originals)
