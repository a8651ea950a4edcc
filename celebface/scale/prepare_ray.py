"""`prepare --engine ray`: the face-extraction step of prepare (data/extract.py's per-photo work) as a Ray Data
actor pool, one MTCNN per actor; everything else in prepare is unchanged. DATA_DIR and WORK_DIR must be on a
path every node sees (the crops are written by the actors)."""
from __future__ import annotations

import json
from dataclasses import asdict
from typing import Iterator, Optional

from ..config import ExtractSettings
from ..data.manifest import PhotoRecord
from ..io.sources import PhotoJob


class ExtractActor:
    """One face detector, loaded once; a batch of photo jobs -> a batch of manifest records (JSON lines)."""

    def __init__(self, work_dir: str, settings: dict) -> None:
        from ..data.extract import _init_worker

        self.work_dir, self.settings = work_dir, ExtractSettings(**settings)
        _init_worker(self.settings, 1)

    def __call__(self, batch):
        import pyarrow as pa

        from ..data.extract import _extract_one

        cols = batch.to_pydict()
        names = [f for f in PhotoJob.__dataclass_fields__]
        recs = [_extract_one((PhotoJob(*(cols[n][i] for n in names)), self.work_dir, self.settings))
                for i in range(batch.num_rows)]
        return pa.table({"record": [json.dumps(r.to_dict()) for r in recs]})


def ray_runner(address: Optional[str], workers: Optional[int] = None, batch_size: int = 2, quiet: bool = True):
    """A runner for extract_faces that runs on the Ray cluster at `address`; each photo's record comes once."""
    from .ray_engine import actor_map, connect

    connect(address, quiet)

    def run(args: list, _local_workers: int) -> Iterator[PhotoRecord]:
        if not args:
            return
        work_dir, settings = args[0][1], args[0][2]
        items = [asdict(job) for job, *_ in args]
        seen: set[str] = set()
        for table in actor_map(items, ExtractActor, {"work_dir": str(work_dir), "settings": asdict(settings)},
                               batch_size, workers):
            for line in table.column("record").to_pylist():
                rec = PhotoRecord.from_dict(json.loads(line))
                if rec.file not in seen:  # a retried task's repeat
                    seen.add(rec.file)
                    yield rec

    return run
