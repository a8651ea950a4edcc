"""Gathering worker output into shards: each photo's rows are kept once (a retried task's repeat is dropped),
and a shard is written (Parquet, then its manifest entry) as soon as all its photos are in."""
from __future__ import annotations

import time
from dataclasses import dataclass, field

from .rows import parquet_bytes
from .shards import MANIFEST_DIR, ShardEntry, ShardPlan
from .storage import Store


@dataclass
class _Pending:
    plan: ShardPlan
    parts: dict = field(default_factory=dict)  # path -> pyarrow Table of that photo's rows


class ShardCollector:
    """Feed it worker tables (`add`); it writes each shard once complete. `written` counts finished shards."""

    def __init__(self, store: Store, plans: list[ShardPlan]) -> None:
        self.store = store
        self.pending = {p.shard_id: _Pending(p) for p in plans}
        self.written, self.faces, self.duplicates = 0, 0, 0

    def add(self, table) -> None:
        """Take a batch of rows (any photos, any shards)."""
        import pyarrow.compute as pc

        for shard in set(table.column("shard").to_pylist()):
            part = table.filter(pc.equal(table.column("shard"), shard))
            pend = self.pending.get(shard)
            if pend is None:  # a repeat of a shard already written
                self.duplicates += part.num_rows
                continue
            for path in set(part.column("path").to_pylist()):
                if path in pend.parts:
                    self.duplicates += 1
                    continue
                pend.parts[path] = part.filter(pc.equal(part.column("path"), path))
            if len(pend.parts) == len(pend.plan.sources):
                self._write(pend)

    def _write(self, pend: _Pending) -> None:
        import pyarrow as pa

        plan = pend.plan
        table = pa.concat_tables([pend.parts[s.path] for s in plan.sources])
        self.store.write_bytes(plan.file_name, parquet_bytes(table))
        sha = {s.path: pend.parts[s.path].column("sha256")[0].as_py() for s in plan.sources}
        faces = int(sum(1 for f in table.column("face").to_pylist() if f >= 0))
        entry = ShardEntry(plan.shard_id, [[s.path, sha[s.path], s.bytes, s.mtime_ns] for s in plan.sources],
                           faces, time.time())
        self.store.write_bytes(f"{MANIFEST_DIR}/shard-{plan.shard_id}.json", entry.to_json().encode())
        del self.pending[plan.shard_id]
        self.written += 1
        self.faces += faces

    def missing(self) -> list[str]:
        """Photos whose results never came (empty when the job finished)."""
        return [s.path for p in self.pending.values() for s in p.plan.sources if s.path not in p.parts]
