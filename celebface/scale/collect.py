"""Gathering worker output into shards: each task's rows are kept once (a retried task's repeat is dropped),
and a shard is written (Parquet, then its manifest entry) as soon as all its tasks are in. A task is a photo, a
whole video, or a part of a long video (parts.py); a video's parts are joined into its rows when the shard is
written."""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Optional

from .parts import WorkItem
from .rows import parquet_bytes
from .shards import MANIFEST_DIR, ShardEntry, ShardPlan
from .storage import Store

#: A task's key: its source path and, for a part of a video, the part's start (None for a whole source).
TaskKey = tuple[str, Optional[float]]


@dataclass
class _Pending:
    plan: ShardPlan
    tasks: set = field(default_factory=set)  # TaskKeys expected
    parts: dict = field(default_factory=dict)  # TaskKey -> pyarrow Table of that task's rows


class ShardCollector:
    """Feed it worker tables (`add`); it writes each shard once complete. `written` counts finished shards."""

    def __init__(self, store: Store, plans: list[ShardPlan], items: Optional[list[WorkItem]] = None) -> None:
        """:param plans: the shards to fill
        :param items: their tasks (default: each source whole)"""
        self.store = store
        self.pending = {p.shard_id: _Pending(p) for p in plans}
        for it in items if items is not None else [WorkItem(s.path, p.shard_id) for p in plans for s in p.sources]:
            self.pending[it.shard].tasks.add((it.path, it.part))
        self.written, self.faces, self.duplicates = 0, 0, 0

    def add(self, table) -> None:
        """Take a batch of rows (any tasks, any shards)."""
        import pyarrow.compute as pc

        for shard in set(table.column("shard").to_pylist()):
            part = table.filter(pc.equal(table.column("shard"), shard))
            pend = self.pending.get(shard)
            if pend is None:  # a repeat of a shard already written
                self.duplicates += part.num_rows
                continue
            keys = zip(part.column("path").to_pylist(), part.column("segment").to_pylist())
            for key in dict.fromkeys(keys):
                if key in pend.parts:
                    self.duplicates += 1
                    continue
                pend.parts[key] = part.filter(_is_task(part, key))
            if pend.tasks <= set(pend.parts):
                self._write(pend)

    def _write(self, pend: _Pending) -> None:
        import pyarrow as pa

        plan = pend.plan
        rows = {s.path: _join_parts([t for k, t in sorted(pend.parts.items(), key=_order) if k[0] == s.path])
                for s in plan.sources}
        table = pa.concat_tables([rows[s.path] for s in plan.sources])
        self.store.write_bytes(plan.file_name, parquet_bytes(table))
        sha = {path: t.column("sha256")[0].as_py() for path, t in rows.items()}
        faces = int(sum(1 for f in table.column("face").to_pylist() if f >= 0))
        entry = ShardEntry(plan.shard_id, [[s.path, sha[s.path], s.bytes, s.mtime_ns] for s in plan.sources],
                           faces, time.time())
        self.store.write_bytes(f"{MANIFEST_DIR}/shard-{plan.shard_id}.json", entry.to_json().encode())
        del self.pending[plan.shard_id]
        self.written += 1
        self.faces += faces

    def missing(self) -> list[str]:
        """Sources some of whose tasks never gave a result (empty when the job finished)."""
        return sorted({k[0] for p in self.pending.values() for k in p.tasks if k not in p.parts})


def _is_task(table, key: TaskKey):
    """The rows of `table` from the task `key`."""
    import pyarrow.compute as pc

    path, segment = key
    same_path = pc.equal(table.column("path"), path)
    seg = table.column("segment")
    return pc.and_(same_path, pc.is_null(seg) if segment is None else pc.equal(seg, segment))


def _order(item) -> tuple:
    (path, segment), _ = item
    return path, -1.0 if segment is None else segment


def _join_parts(tables: list):
    """One source's rows from its tasks' rows, in time order. A video read in parts is as if read whole: if a part
    could not be read, the video gets that one "unreadable" row; else its faces, or one "no_face" row."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if len(tables) == 1:
        return tables[0]
    rows = pa.concat_tables(tables)
    status = rows.column("status")
    for wanted in ("unreadable", "ok"):
        mask = pc.equal(status, wanted)
        if pc.any(mask).as_py():
            picked = rows.filter(mask)
            return picked.slice(0, 1) if wanted == "unreadable" else picked
    return rows.slice(0, 1)
