"""`celebface init`: an empty recogniser (no training) whose people live in the gallery."""
from __future__ import annotations

import time
from pathlib import Path
from typing import Optional

import numpy as np

from ..errors import GalleryError
from ..gallery.calibrate import DEFAULT_THRESHOLD


def empty_bundle(backbone: str = "dlib_face", identity: Optional[str] = None):
    """A Bundle with no people: the detector and embedder settings, and nothing trained.

    :param identity: the identity embedder whose vectors the gallery holds (faces/identity.py; None: the default)"""
    from ..config import CROP_SIZE, DETECT_SIZE, MARGIN, MIN_PROB
    from ..faces.backbones import get_spec
    from ..faces.identity import get_identity
    from .bundle import Bundle

    spec, ident = get_spec(backbone), get_identity(identity)
    if spec.fine_tunable or spec.open_set_score != "gallery":
        raise GalleryError(f"{backbone} names people with a trained head, so it cannot start empty: use "
                           f"`celebface init MODEL_DIR --backbone dlib_face`, or train {backbone} on your photos")
    config = {"classes": [], "backbone": spec.name, "identity": ident.name, "backbone_depth": 0, "head": "design",
              "feature_dim": ident.dim,
              "weights": "", "preprocessing": {"input_size": spec.input_size, "mean": list(spec.mean),
                                               "std": list(spec.std), "margin": MARGIN, "crop_size": CROP_SIZE,
                                               "detect_size": DETECT_SIZE, "min_prob": MIN_PROB},
              "threshold": DEFAULT_THRESHOLD, "score": "gallery", "created": time.strftime("%Y-%m-%dT%H:%M:%S"),
              "people_in": "gallery"}
    return Bundle(config, {}, np.zeros((0, ident.dim), np.float32), np.zeros(0, np.int64), {})


def init_model(model_dir: Path, backbone: str = "dlib_face", gallery: Optional[str] = None,
               identity: Optional[str] = None) -> Path:
    """Make MODEL_DIR an empty recogniser and open (create) its gallery; returns MODEL_DIR.

    :param model_dir: a new or empty folder
    :param backbone: an embedding backbone (dlib_face: faces are named by the gallery)
    :param gallery: a postgresql:// URL to keep the people in instead of MODEL_DIR/gallery.db
    :param identity: the identity embedder the gallery's vectors are made with (None: the default)
    """
    from ..gallery import open_gallery
    from ..gallery.store import save_gallery_url
    from .bundle import is_model_dir, save_bundle

    model_dir = Path(model_dir)
    if model_dir.exists() and (is_model_dir(model_dir) or any(model_dir.iterdir())):
        what = "a celebface model" if is_model_dir(model_dir) else "not empty"
        raise GalleryError(f"{model_dir} is {what}; give a new folder to `celebface init`")
    bundle = empty_bundle(backbone, identity)
    ident = bundle.config["identity"]
    if gallery:  # fails before anything is written if PostgreSQL is unreachable or holds another identity
        open_gallery(model_dir, gallery, ident).close()
    save_bundle(bundle, model_dir)
    if gallery:
        save_gallery_url(model_dir, gallery)
    open_gallery(model_dir, gallery, ident).close()
    return model_dir


def init(model_dir: Path, backbone: str = "dlib_face", gallery: Optional[str] = None, device: str = "auto",
         identity: Optional[str] = None):
    """`celebface.init(...)`: make an empty recogniser in `model_dir` and load it, ready for `rec.enroll`.

    :param gallery: a postgresql:// URL to keep the people in instead of MODEL_DIR/gallery.db
    :param identity: the identity embedder (faces/identity.py; None: the default)
    """
    from .recognizer import load

    init_model(model_dir, backbone, gallery, identity)
    return load(model_dir, device, gallery=gallery)
