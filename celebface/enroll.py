"""`celebface enroll`: add or update a person from a few photos, without retraining the backbone.

For embedding backbones (dlib_face) the person's face embeddings join the gallery and the small head is
retrained on the stored embeddings in seconds. The bundle is rewritten atomically: if anything fails, the
old bundle stays as it was.
"""
from __future__ import annotations

import time
from pathlib import Path
from typing import Sequence

import numpy as np
import torch
from PIL import ImageOps

from .bundle import Bundle, save_bundle
from .images import ImageError, ImageSource, load_image
from .model import make_head
from .predict import Recognizer


class EnrollError(ValueError):
    """Enrolment that cannot be done as asked; the message says why and what to do."""


def enroll(rec: Recognizer, name: str, photos: Sequence[ImageSource], epochs: int = 60, seed: int = 0) -> dict:
    """Enrol `name` from `photos` into the recogniser's bundle (rewritten in place); returns a summary."""
    from .train import fit, seed_everything

    name = name.strip()
    if not name or "/" in name or name == "unknown":
        raise EnrollError(f"{name!r} cannot be a person's name (empty, contains '/', or 'unknown')")
    if not rec.can_enroll:
        raise EnrollError(f"this model's backbone ({rec.spec.name}) is fine-tuned on its people, so a new person "
                          f"needs retraining: add a folder for {name} to DATA_DIR and run prepare + train again, "
                          f"or train with --backbone dlib_face, which can enrol people in seconds")
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
    if not crops:
        raise EnrollError(f"no usable face in the {len(photos)} photo(s) given for {name}: " + "; ".join(skipped))
    with rec._lock:
        # Each photo and its mirror image: a cheap, honest augmentation for a handful of photos.
        feats = rec.features(crops + [ImageOps.mirror(c) for c in crops])
        old = rec.bundle
        classes = list(old.classes)
        updated = name in classes
        if not updated:
            classes.append(name)
        label = classes.index(name)
        keep = old.gallery_labels != label
        gallery = np.concatenate([old.gallery[keep], feats]).astype(np.float32)
        labels = np.concatenate([old.gallery_labels[keep], np.full(len(feats), label)]).astype(np.int64)

        # Retrain the small head on the stored embeddings, each person weighted equally.
        seed_everything(seed)
        counts = np.bincount(labels, minlength=len(classes))
        reps = np.maximum(1, (counts.max() // np.maximum(counts, 1)))[labels]
        X = torch.from_numpy(np.repeat(gallery, reps, axis=0))
        y = torch.from_numpy(np.repeat(labels, reps))
        head = make_head(old.config["head"], gallery.shape[1], len(classes))
        t0 = time.time()
        fit(head, X, y, torch.from_numpy(gallery), torch.from_numpy(labels),
            [{"params": head.parameters(), "lr": 1e-3}], epochs, 10, 64, seed, 1e-4, "enrol", False)
        config = {**old.config, "classes": classes}
        state = {k: v for k, v in old.state.items() if not k.startswith("head.")}
        state.update({f"head.{k}": v for k, v in head.state_dict().items()})
        summary = {"name": name, "updated": updated, "photos": len(photos), "faces": len(crops),
                   "skipped": skipped, "seconds": round(time.time() - t0, 2),
                   "date": time.strftime("%Y-%m-%dT%H:%M:%S")}
        metrics = {**old.metrics, "enrolled": old.metrics.get("enrolled", []) + [summary]}
        bundle = Bundle(config, state, gallery, labels, metrics,
                        extra_files={n: rec.model_dir / n for n in ("confusion_matrix.png", "learning_curves.png")})
        save_bundle(bundle, rec.model_dir)
        rec.use_bundle(bundle)
    return summary
