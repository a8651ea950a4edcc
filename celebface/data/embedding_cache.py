"""Face embeddings of WORK_DIR's crops, computed once and cached in WORK_DIR/cache across runs."""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np

from ..faces.embedders import EMBED_DIM, embed_files
from ..io.fileio import atomic_open

CACHE_NAME = "cache/dlib_face.npz"
FLIP_CACHE_NAME = "cache/dlib_face-flip.npz"


def cached_embeddings(work_dir: Path, files: Sequence[str], progress: bool = True,
                      desc: str = "dlib embeddings", flip: bool = False) -> np.ndarray:
    """dlib embeddings of face crops given relative to WORK_DIR, cached in WORK_DIR/cache across runs.

    :param flip: flip-averaged embeddings, as recognition makes them (the data checks use single-view ones, on
        which their thresholds were measured)
    """
    work_dir = Path(work_dir)
    cache_path = work_dir / (FLIP_CACHE_NAME if flip else CACHE_NAME)
    cache: dict[str, np.ndarray] = {}
    if cache_path.exists():
        try:
            with np.load(cache_path) as z:
                cache = {k: z[k] for k in z.files}
        except Exception:  # a damaged cache is rebuilt
            cache = {}
    # Keyed by path, size and modification time: a re-augmented image under the same name is embedded anew.
    stats = [(work_dir / f).stat() for f in files]
    keys = [f"{f}|{st.st_size}|{st.st_mtime_ns}" for f, st in zip(files, stats)]
    missing = sorted({(k, f) for k, f in zip(keys, files) if k not in cache})
    if missing:
        vecs = embed_files([work_dir / f for _, f in missing], progress=progress, desc=desc, flip=flip)
        cache.update(zip([k for k, _ in missing], vecs))
        with atomic_open(cache_path, "wb") as f:
            np.savez(f, **cache)
    return np.stack([cache[k] for k in keys]) if files else np.zeros((0, EMBED_DIM), np.float32)
