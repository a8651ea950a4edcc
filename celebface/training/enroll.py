"""`celebface enroll`: add a person (or more photos of one) from a few photos, without retraining the backbone.

For fixed embedding backbones (dlib_face) the person's face embeddings join the gallery and the small head is
retrained on the stored embeddings in seconds. Enrolment ADDS faces; `replace=True` replaces the person's faces.
The model folder is locked while it changes and rewritten as a new version (see recognition.bundle); the
recogniser keeps naming faces with the old head until the new one is ready.
"""
from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np
import torch
from PIL import Image, ImageOps

from ..errors import EnrollError, ImageError
from ..io.images import ImageSource, load_image
from ..io.sources import name_problem
from ..recognition.bundle import Bundle, bundle_dir, load_bundle, save_bundle, writer_lock
from ..recognition.heads import make_head
from ..recognition.recognizer import Recognizer
from .loop import FitConfig, Split, fit, seed_everything


@dataclass
class EnrollSummary:
    name: str
    updated: bool
    photos: int
    faces: int
    skipped: list[str] = field(default_factory=list)
    seconds: float = 0.0
    date: str = ""
    replaced: bool = False

    def to_dict(self) -> dict:
        return asdict(self)


def _main_face_crops(rec: Recognizer, photos: Sequence[ImageSource]) -> tuple[list[Image.Image], list[str]]:
    crops, skipped = [], []
    for i, src in enumerate(photos):
        label = str(src) if isinstance(src, (str, Path)) else f"photo {i + 1}"
        try:
            img = load_image(src)
        except ImageError as exc:
            skipped.append(f"{label}: {exc}")
            continue
        _, face_crops = rec.face_crops(img)
        if not face_crops:
            skipped.append(f"{label}: no face found")
            continue
        crops.append(face_crops[0])  # the main face
    return crops, skipped


def _fit_head(config: dict, gallery: np.ndarray, labels: np.ndarray, n_classes: int, seed: int,
              epochs: int) -> torch.nn.Module:
    """Retrain the small head on the stored embeddings, each person weighted equally."""
    seed_everything(seed)
    counts = np.bincount(labels, minlength=n_classes)
    reps = np.maximum(1, (counts.max() // np.maximum(counts, 1)))[labels]
    train = Split(torch.from_numpy(np.repeat(gallery, reps, axis=0)), torch.from_numpy(np.repeat(labels, reps)))
    val = Split(torch.from_numpy(gallery), torch.from_numpy(labels))
    head = make_head(config["head"], gallery.shape[1], n_classes)
    fit(head, train, val, [{"params": head.parameters(), "lr": 1e-3}], FitConfig(epochs, patience=10, seed=seed,
                                                                                 desc="enrol"))
    return head


def enroll(rec: Recognizer, name: str, photos: Sequence[ImageSource], replace: bool = False, epochs: int = 60,
           seed: int = 0) -> EnrollSummary:
    """Enrol `name` from `photos` into the recogniser's model; returns a summary.

    :param rec: a loaded recogniser whose backbone can enrol (a fixed embedding network)
    :param name: the person's name (a new one, or one the model knows: its faces are added to)
    :param photos: paths, bytes or images; the main face of each is used
    :param replace: replace the person's stored faces instead of adding to them
    """
    problem = name_problem(name)
    if problem:
        raise EnrollError(f"{name!r} cannot be a person's name: {problem}")
    if not rec.can_enroll:
        raise EnrollError(f"this model's backbone ({rec.spec.name}) is fine-tuned on its people, so a new person "
                          f"needs retraining: add a folder for {name} to DATA_DIR and run prepare + train again, "
                          f"or train with --backbone dlib_face, which can enrol people in seconds")
    crops, skipped = _main_face_crops(rec, photos)
    if not crops:
        raise EnrollError(f"no usable face in the {len(photos)} photo(s) given for {name}: " + "; ".join(skipped))
    # Each photo and its mirror image: a cheap, honest augmentation for a handful of photos.
    feats = rec.embed(crops + [ImageOps.mirror(c) for c in crops])
    t0 = time.time()
    with writer_lock(rec.model_dir):
        old = load_bundle(rec.model_dir)  # the latest on disk: another process may have enrolled meanwhile
        classes = list(old.classes)
        updated = name in classes
        classes += [] if updated else [name]
        label = classes.index(name)
        keep = (old.gallery_labels != label) if replace else np.ones(len(old.gallery_labels), bool)
        gallery = np.concatenate([old.gallery[keep], feats]).astype(np.float32)
        labels = np.concatenate([old.gallery_labels[keep], np.full(len(feats), label)]).astype(np.int64)
        head = _fit_head(old.config, gallery, labels, len(classes), seed, epochs)
        summary = EnrollSummary(name, updated, len(photos), len(crops), skipped, round(time.time() - t0, 2),
                                time.strftime("%Y-%m-%dT%H:%M:%S"), replace and updated)
        bundle = _with_head(old, classes, head, gallery, labels, summary, rec.model_dir)
        save_bundle(bundle, rec.model_dir, lock=False)
    rec.use_bundle(bundle)
    return summary


def _with_head(old: Bundle, classes: list[str], head: torch.nn.Module, gallery: np.ndarray, labels: np.ndarray,
               summary: EnrollSummary, model_dir: Path) -> Bundle:
    state = {k: v for k, v in old.state.items() if not k.startswith("head.")}
    state.update({f"head.{k}": v for k, v in head.state_dict().items()})
    metrics = {**old.metrics, "enrolled": old.metrics.get("enrolled", []) + [summary.to_dict()]}
    where = bundle_dir(model_dir)
    return Bundle({**old.config, "classes": classes}, state, gallery, labels, metrics,
                  extra_files={n: where / n for n in ("confusion_matrix.png", "learning_curves.png")})
