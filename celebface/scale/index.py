"""`celebface index`: the archive job. Every photo and video under SOURCE... is read, its faces detected, embedded
and named; one row per face (per sampled frame, for videos) goes to Parquet shards in RESULTS_DIR (see rows.py),
and a rerun skips finished shards."""
from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator, Optional

from ..errors import ConfigError, DataError
from .collect import ShardCollector
from .parts import SEGMENT, WorkItem, jobs, work_items
from .shards import plan_shards
from .storage import Store, list_sources

ENGINES = ("local", "ray")


@dataclass(frozen=True)
class IndexOptions:
    """How the job runs: engine ("local" | "ray"), the Ray cluster's address, workers (processes or actors;
    default one per core of the machine or cluster), photos per shard and per batch, device, and the frames
    sampled per second of video."""

    engine: str = "local"
    address: Optional[str] = None
    workers: Optional[int] = None
    shard_size: int = 64
    batch_size: int = 4
    device: str = "cpu"
    quiet: bool = True
    fps: float = 2.0
    segment: float = SEGMENT  # videos longer than this many seconds are indexed in parts of this length (0: whole)

    def check(self) -> None:
        if self.engine not in ENGINES:
            raise ConfigError(f"--engine must be one of {', '.join(ENGINES)}")
        if self.segment < 0:
            raise ConfigError(f"--segment must be 0 (never cut) or more (got {self.segment})")
        if not self.fps > 0:
            raise ConfigError(f"--fps must be more than 0 (got {self.fps})")
        if self.shard_size < 1 or self.batch_size < 1 or (self.workers is not None and self.workers < 1):
            raise ConfigError("--shard-size, --batch-size and --workers must be at least 1")


@dataclass(frozen=True)
class IndexSummary:
    """What a run did: photos given, photos skipped (in finished shards), shards and faces written, seconds."""

    photos: int
    skipped: int
    shards: int
    faces: int
    seconds: float
    repeats_dropped: int


def index(model_dir: Path, sources: list[str], out: str, options: IndexOptions = IndexOptions(),
          on_shard: Optional[Callable[[int], None]] = None) -> IndexSummary:
    """Index every photo and video under `sources` into Parquet shards under `out`.

    :param model_dir: a model folder (`celebface train`), readable by every node
    :param sources: photo or video files, folders or pyarrow filesystem URIs, readable by every node
    :param out: RESULTS_DIR: a local folder or a pyarrow filesystem URI
    :param options: engine, address, workers, shard and batch sizes
    :param on_shard: called with the number of shards written so far, after each shard
    """
    t0 = time.time()
    options.check()
    from ..recognition.bundle import bundle_dir, load_bundle

    if not (bundle_dir(Path(model_dir)) / "config.json").is_file():
        load_bundle(Path(model_dir))  # raises the bundle's own error, which says what to do
    store = Store.open(str(out))
    srcs = list_sources(sources)
    plans = plan_shards(srcs, store.entries(), options.shard_size)
    items = work_items(plans, options.segment)
    collector = ShardCollector(store, plans, items)
    for table in _engine(str(Path(model_dir).resolve()), items, options):
        before = collector.written
        collector.add(table)
        if on_shard and collector.written > before:
            on_shard(collector.written)
    if collector.missing():
        raise DataError(f"{len(collector.missing())} photos got no result (e.g. {collector.missing()[0]}); "
                        f"run the same command again: finished shards are kept")
    todo = sum(len(p.sources) for p in plans)
    return IndexSummary(len(srcs), len(srcs) - todo, collector.written, collector.faces,
                        round(time.time() - t0, 2), collector.duplicates)


def _engine(model_dir: str, items: list[WorkItem], options: IndexOptions) -> Iterator:
    if options.engine == "local":
        from .local import run_local

        return run_local(model_dir, items, options.batch_size, options.workers, options.device, options.fps)
    from .ray_engine import actor_map, connect
    from .worker import PhotoIndexer

    connect(options.address, options.quiet)
    # one row per worker call (a few photos, or one part of a video: parts.jobs), so one call per batch
    return actor_map(jobs(items, options.batch_size), PhotoIndexer, {"model_dir": model_dir,
                     "device": options.device, "threads": 1, "fps": options.fps}, 1, options.workers)


def read_index(out: str):
    """Every finished shard's rows as one pyarrow Table, each photo's newest results only."""
    import pyarrow as pa

    from .rows import schema

    tables = list(iter_index(out))
    # shards written before a column was added (quality, reason) get it as nulls
    return pa.concat_tables(tables, promote_options="default") if tables else schema().empty_table()


def iter_index(out: str) -> Iterator:
    """The finished shards' rows one shard at a time (pyarrow Tables), each photo's newest results only: an index
    of any size in the memory of one shard."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    from .shards import latest_keys

    store = Store.open(str(out))
    entries = store.entries()
    newest = latest_keys(entries)
    for e in entries:
        path = store.join(f"shard-{e.shard_id}.parquet")
        t = pq.read_table(path, filesystem=store.fs) if store.fs else pq.read_table(path)
        keep = [p for p, s in newest.items() if s == e.shard_id]
        yield t.filter(pc.is_in(t.column("path"), pa.array(keep, pa.string())))


def index_faces(out: str) -> int:
    """How many faces the finished shards hold (from their manifest entries; a photo indexed twice counts twice)."""
    return sum(e.faces for e in Store.open(str(out)).entries())
