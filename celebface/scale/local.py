"""`index --engine local`: the job on one machine, one worker process per core, each with its own model
loaded once; while one process detects, another embeds, so the cores stay busy."""
from __future__ import annotations

import multiprocessing as mp
import os
from typing import Iterator, Optional

from .shards import ShardPlan

_indexer = None


def _init(model_dir: str, device: str, threads: int, fps: float = 2.0) -> None:
    from .worker import PhotoIndexer

    global _indexer
    _indexer = PhotoIndexer(model_dir, device, threads, fps)


def _run(batch: dict):
    assert _indexer is not None
    return _indexer(batch)


def batches(plans: list[ShardPlan], batch_size: int) -> Iterator[dict]:
    """Batches of {"path": [...], "shard": [...]}, never mixing shards (so finished shards are written early)."""
    for plan in plans:
        for i in range(0, len(plan.sources), batch_size):
            chunk = plan.sources[i:i + batch_size]
            yield {"path": [s.path for s in chunk], "shard": [plan.shard_id] * len(chunk)}


def run_local(model_dir: str, plans: list[ShardPlan], batch_size: int, workers: Optional[int],
              device: str = "cpu", fps: float = 2.0) -> Iterator:
    """Yield pyarrow Tables of index rows for every photo of `plans`.

    :param workers: processes (default: one per core)
    :param fps: frames sampled per second of video
    """
    jobs = list(batches(plans, batch_size))
    if not jobs:
        return
    workers = max(1, min(workers or os.cpu_count() or 1, len(jobs)))
    ctx = mp.get_context("spawn")  # safe beside an already-threaded torch in the parent
    with ctx.Pool(workers, initializer=_init, initargs=(str(model_dir), device, 1, fps)) as pool:
        yield from pool.imap_unordered(_run, jobs, chunksize=1)
