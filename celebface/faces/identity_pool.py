"""Identity vectors of saved face crops, spread over worker processes (one per core, one torch thread each)."""
from __future__ import annotations

import multiprocessing as mp
import os
from typing import Optional, Sequence

import numpy as np
from PIL import Image

from ..config import MARGIN
from .identity import IdentityEmbedder, get_identity, identity_embedder

CHUNK = 16  # crops per task handed to a worker

_worker: Optional[IdentityEmbedder] = None


def _init(identity: str, margin: float, flip: bool = True, mirror_only: bool = False) -> None:
    global _worker
    _worker = identity_embedder(identity, margin, flip, mirror_only)


def _init_worker(identity: str, margin: float, flip: bool, mirror_only: bool) -> None:
    """A pool worker: one torch thread each (the pool has a process per core)."""
    import torch

    torch.set_num_threads(1)
    _init(identity, margin, flip, mirror_only)


def _embed_files(paths: list[str]) -> np.ndarray:
    assert _worker is not None
    return _worker.embed([Image.open(p).convert("RGB") for p in paths])


def embed_files(paths: Sequence[os.PathLike], margin: float = MARGIN, workers: Optional[int] = None,
                progress: bool = False, desc: str = "face vectors", flip: bool = True,
                mirror_only: bool = False, identity: Optional[str] = None) -> np.ndarray:
    """Embed saved face crops with an identity embedder, spread over worker processes.

    :param paths: square face crops (align.crop_face's, with margin `margin`)
    :param flip: average with the mirror image's vector (as recognition does)
    :param mirror_only: the mirror images' vectors alone
    :param identity: the identity embedder (faces/identity.py; None: the default)
    """
    from ..runtime import progress_bar

    identity = get_identity(identity).name
    paths = [str(p) for p in paths]
    if not paths:
        return np.zeros((0, get_identity(identity).dim), np.float32)
    chunks = [paths[i:i + CHUNK] for i in range(0, len(paths), CHUNK)]
    workers = max(1, min(workers or os.cpu_count() or 1, len(chunks)))
    bar = progress_bar(total=len(paths), unit="face", desc=desc, disable=not progress, dynamic_ncols=True)
    out = []
    if workers == 1:
        _init(identity, margin, flip, mirror_only)
        for c in chunks:
            out.append(_embed_files(c))
            bar.update(len(c))
    else:
        ctx = mp.get_context("spawn")
        with ctx.Pool(workers, initializer=_init_worker, initargs=(identity, margin, flip, mirror_only)) as pool:
            for res, c in zip(pool.imap(_embed_files, chunks), chunks):
                out.append(res)
                bar.update(len(c))
    bar.close()
    return np.concatenate(out)
