"""The people gallery: people and their face embeddings in a database (SQLite by default, PostgreSQL at scale),
a kNN matcher over it, and enrolment without training.

The gallery always holds dlib face embeddings (128 values, unit length), whatever backbone names the faces.
"""
from __future__ import annotations

from pathlib import Path
from typing import Optional, Union

GALLERY_BACKBONE = "dlib_face"
GALLERY_DIM = 128
GALLERY_WEIGHTS = "dlib_face_recognition_resnet_model_v1"


def open_gallery(model_dir: Union[str, Path], url: Optional[str] = None):
    """The gallery Store of a model (MODEL_DIR/gallery.db, or the PostgreSQL URL given or configured).

    :param model_dir: the model folder
    :param url: postgresql://... (else CELEBFACE_GALLERY, else MODEL_DIR/gallery.json, else the SQLite file)
    """
    from .store import open_store

    return open_store(model_dir, GALLERY_BACKBONE, GALLERY_DIM, url, GALLERY_WEIGHTS)
