"""A trained model's faces in the gallery: imported once per bundle (by content hash), replacing an earlier
model's training faces and never touching enrolled people."""
from __future__ import annotations

import hashlib
import json
from typing import Any, Optional

import numpy as np

from .records import Change, NewFace


def bundle_key(bundle: Any) -> str:
    """A content hash of the bundle's people and training-face embeddings."""
    h = hashlib.sha256(json.dumps(list(bundle.classes)).encode())
    h.update(np.ascontiguousarray(bundle.gallery, np.float32).tobytes())
    h.update(np.ascontiguousarray(bundle.gallery_labels, np.int64).tobytes())
    return h.hexdigest()


def gallery_backbone(bundle: Any) -> str:
    """The model that made the bundle's gallery embeddings."""
    return str(bundle.config.get("gallery_backbone", bundle.config.get("backbone", "")))


def import_bundle(store: Any, bundle: Any, who: str = "celebface (model import)") -> Optional[Change]:
    """Put the bundle's training faces into `store` unless they are there already; None when nothing changed
    (already imported, no faces, or embeddings of another model than the gallery's).

    :param store: the gallery Store
    :param bundle: a loaded Bundle (gallery, gallery_labels, classes)
    """
    feats = np.asarray(bundle.gallery, np.float32)
    if len(feats) == 0 or feats.shape[1] != store.dim or gallery_backbone(bundle) != store.backbone:
        return None
    faces = [NewFace(v, source="training") for v in feats]
    return store.import_training(bundle_key(bundle), list(bundle.classes), faces, np.asarray(bundle.gallery_labels),
                                 who=who)
