"""The people gallery: people and their face embeddings in a database (SQLite by default, PostgreSQL at scale),
a kNN matcher over it, and enrolment without training.

The gallery holds the face vectors of one identity embedder (celebface/faces/identity.py: dlib's 128-d descriptor
unless the model says otherwise), whatever backbone names the faces; it records which, and refuses vectors of
another.
"""
from __future__ import annotations

from pathlib import Path
from typing import Optional, Union

#: What galleries made before identities had names hold (dlib's 128-d descriptor).
GALLERY_BACKBONE = "dlib_face"
GALLERY_DIM = 128
GALLERY_WEIGHTS = "dlib_face_recognition_resnet_model_v1"


def open_gallery(model_dir: Union[str, Path], url: Optional[str] = None, identity: Optional[str] = None):
    """The gallery Store of a model (MODEL_DIR/gallery.db, or the PostgreSQL URL given or configured).

    :param model_dir: the model folder
    :param url: postgresql://... (else CELEBFACE_GALLERY, else MODEL_DIR/gallery.json, else the SQLite file)
    :param identity: the identity embedder whose vectors it holds (default: the model's, see faces/identity.py;
        dlib's, as galleries always held, in a folder without a model); a gallery holding another identity's vectors
        is refused
    """
    from ..faces.identity import LEGACY_IDENTITY, get_identity
    from ..io.model_files import model_identity
    from .store import open_store

    spec = get_identity(identity or model_identity(Path(model_dir)) or LEGACY_IDENTITY)
    return open_store(model_dir, spec.recorded_as, spec.dim, url, spec.gallery_weights)
