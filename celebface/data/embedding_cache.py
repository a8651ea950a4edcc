"""Identity vectors of WORK_DIR's crops, computed once and cached in WORK_DIR/cache across runs (one file per
identity embedder and view: dlib's keep their first names)."""
from __future__ import annotations

from pathlib import Path
from typing import Optional, Sequence

import numpy as np

from ..faces.identity import get_identity
from ..faces.identity_pool import embed_files
from ..io.fileio import atomic_open

CACHE_NAME = "cache/dlib_face.npz"
FLIP_CACHE_NAME = "cache/dlib_face-flip.npz"


def cache_name(identity: str, flip: bool) -> str:
    """WORK_DIR's cache file of an identity's vectors (single-view or flip-averaged)."""
    if identity == "dlib":
        return FLIP_CACHE_NAME if flip else CACHE_NAME
    return f"cache/identity-{identity}{'-flip' if flip else ''}.npz"


def cached_embeddings(work_dir: Path, files: Sequence[str], progress: bool = True,
                      desc: str = "face vectors", flip: bool = False, identity: Optional[str] = None) -> np.ndarray:
    """Identity vectors of face crops given relative to WORK_DIR, cached in WORK_DIR/cache across runs.

    :param flip: flip-averaged vectors, as recognition makes them (the data checks use single-view ones, on
        which their thresholds were measured)
    :param identity: the identity embedder (faces/identity.py; None: dlib's, the data checks' own)
    """
    work_dir, spec = Path(work_dir), get_identity(identity or "dlib")
    cache_path = work_dir / cache_name(spec.name, flip)
    cache = _read(cache_path)
    # Keyed by path, size and modification time: a re-augmented image under the same name is embedded anew.
    keys = [_key(work_dir, f) for f in files]
    missing = sorted({(k, f) for k, f in zip(keys, files) if k not in cache})
    if missing:
        # Entries of crops since re-made or removed (each prepare with another seed re-augments) are dropped, so the
        # cache holds the folder's images, not every image it ever held.
        cache = {k: v for k, v in cache.items() if _still_current(work_dir, k)}
        cache.update(_embed(work_dir, missing, progress, desc, flip, spec.name))
        with atomic_open(cache_path, "wb") as f:
            np.savez(f, **cache)
    return np.stack([cache[k] for k in keys]) if files else np.zeros((0, spec.dim), np.float32)


def _key(work_dir: Path, file: str) -> str:
    st = (work_dir / file).stat()
    return f"{file}|{st.st_size}|{st.st_mtime_ns}"


def _still_current(work_dir: Path, key: str) -> bool:
    """The key's file is still in WORK_DIR with the size and modification time the key was made with."""
    try:
        return _key(work_dir, key.rsplit("|", 2)[0]) == key
    except OSError:
        return False


def _read(path: Path) -> dict[str, np.ndarray]:
    """A cache file's vectors by key; a missing or damaged cache is empty (it is rebuilt)."""
    if not path.exists():
        return {}
    try:
        with np.load(path) as z:
            return {k: z[k] for k in z.files}
    except Exception:
        return {}


def _embed(work_dir: Path, missing: list[tuple[str, str]], progress: bool, desc: str,
           flip: bool, identity: str) -> dict[str, np.ndarray]:
    """Embeddings of the (key, file) pairs not cached yet. Flip-averaged dlib ones reuse the single-view embedding
    that `prepare` cached for the same file and run the network on the mirror image only (half the time)."""
    single = _read(work_dir / CACHE_NAME) if flip and identity == "dlib" else {}
    half = [(k, f) for k, f in missing if k in single]
    full = [(k, f) for k, f in missing if k not in single]
    out: dict[str, np.ndarray] = {}
    if full:
        vecs = embed_files([work_dir / f for _, f in full], progress=progress, desc=desc, flip=flip, identity=identity)
        out.update(zip([k for k, _ in full], vecs))
    if half:
        mirror = embed_files([work_dir / f for _, f in half], progress=progress, desc=desc, mirror_only=True,
                             identity=identity)
        both = np.stack([single[k] for k, _ in half]) + mirror
        both /= np.maximum(np.linalg.norm(both, axis=1, keepdims=True), 1e-8)
        out.update(zip([k for k, _ in half], both.astype(np.float32)))
    return out
