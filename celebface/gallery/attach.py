"""Connecting a loaded model to its gallery: open it and import the bundle's training faces once."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

from . import open_gallery
from .training import import_bundle


def open_model_gallery(model_dir: Path, bundle: Any, url: Optional[str] = None,
                       identity: Optional[str] = None) -> Any:
    """The model's gallery Store, with the bundle's training faces imported if they are not there yet.

    :param identity: the model's identity embedder (its gallery holds that identity's vectors)"""
    store = open_gallery(model_dir, url, identity)
    import_bundle(store, bundle)
    return store

