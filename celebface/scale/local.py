"""`index --engine local`: the job on one machine, one worker process per core, each with its own model
loaded once; while one process detects, another embeds, so the cores stay busy."""
from __future__ import annotations

import multiprocessing as mp
import os
from typing import Iterator, Optional

from .parts import WorkItem, jobs

_indexer = None


def _init(model_dir: str, device: str, threads: int, fps: float = 2.0) -> None:
    from .worker import PhotoIndexer

    global _indexer
    _indexer = PhotoIndexer(model_dir, device, threads, fps)


def _run(batch: dict):
    assert _indexer is not None
    return _indexer(batch)


def run_local(model_dir: str, items: list[WorkItem], batch_size: int, workers: Optional[int],
              device: str = "cpu", fps: float = 2.0) -> Iterator:
    """Yield pyarrow Tables of index rows for every task of `items`.

    :param workers: processes (default: one per core)
    :param fps: frames sampled per second of video
    """
    calls = jobs(items, batch_size)
    if not calls:
        return
    workers = max(1, min(workers or os.cpu_count() or 1, len(calls)))
    ctx = mp.get_context("spawn")  # safe beside an already-threaded torch in the parent
    with ctx.Pool(workers, initializer=_init, initargs=(str(model_dir), device, 1, fps)) as pool:
        yield from pool.imap_unordered(_run, calls, chunksize=1)
