"""Shard bookkeeping of the index job: which photos are done, how the rest is cut into shards.

RESULTS_DIR holds `shard-<id>.parquet` (one row per face) and, per finished shard, `_manifest/shard-<id>.json`
naming its photos. A shard's manifest entry is written after its Parquet file, both atomically, so a shard is
either finished (both there) or redone. Photos are keyed by source path and content hash (sha256).
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from typing import Iterable, Optional

MANIFEST_DIR = "_manifest"


@dataclass(frozen=True)
class Source:
    """One input photo: where it is (a path or URI every node can read), its size and modification time."""

    path: str
    bytes: int = 0
    mtime_ns: int = 0


@dataclass
class ShardPlan:
    """One shard: its id and the photos it covers (sorted by path)."""

    shard_id: str
    sources: list[Source] = field(default_factory=list)

    @property
    def file_name(self) -> str:
        return f"shard-{self.shard_id}.parquet"


@dataclass
class ShardEntry:
    """The manifest entry of a finished shard: per photo [path, sha256, bytes, mtime_ns]; its face rows."""

    shard_id: str
    photos: list[list] = field(default_factory=list)
    faces: int = 0
    finished: float = 0.0  # time.time() when written; the newest entry wins for a photo in several shards

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> "ShardEntry":
        d = json.loads(text)
        return cls(d["shard_id"], [list(p) for p in d["photos"]], int(d.get("faces", 0)), float(d.get("finished", 0)))


def content_hash(data: bytes) -> str:
    """The key half that changes when a photo's content changes."""
    return hashlib.sha256(data).hexdigest()


def photo_key(path: str, sha256: str) -> str:
    """The key of one photo's results: the same photo at the same path is indexed once, whatever the run."""
    return f"{sha256}:{path}"


def shard_id(sources: Iterable[Source]) -> str:
    """A shard's id follows from its photos, so replanning the same leftovers gives the same shards."""
    h = hashlib.sha1()
    for s in sources:
        h.update(f"{s.path}\0{s.bytes}\0{s.mtime_ns}\n".encode())
    return h.hexdigest()[:16]


def finished_sources(entries: Iterable[ShardEntry]) -> set[tuple[str, int, int]]:
    """(path, bytes, mtime_ns) of every photo in a finished shard."""
    return {(p[0], int(p[2]), int(p[3])) for e in entries for p in e.photos}


def plan_shards(sources: Iterable[Source], entries: Iterable[ShardEntry], shard_size: int) -> list[ShardPlan]:
    """Cut the photos not yet in a finished shard (same path, size and mtime) into shards of `shard_size`.

    :param sources: every input photo
    :param entries: the manifest entries of the finished shards
    :param shard_size: photos per shard (the unit of work that a rerun skips or redoes)
    """
    if shard_size < 1:
        raise ValueError("shard_size must be at least 1")
    done = finished_sources(entries)
    todo = sorted({s.path: s for s in sources if (s.path, s.bytes, s.mtime_ns) not in done}.values(),
                  key=lambda s: s.path)
    plans = []
    for i in range(0, len(todo), shard_size):
        chunk = todo[i:i + shard_size]
        plans.append(ShardPlan(shard_id(chunk), chunk))
    return plans


def latest_keys(entries: Iterable[ShardEntry]) -> dict[str, Optional[str]]:
    """Per source path, the shard holding its newest results (the last entry wins when a photo changed)."""
    out: dict[str, Optional[str]] = {}
    for e in sorted(entries, key=lambda e: (e.finished, e.shard_id)):
        for p in e.photos:
            out[p[0]] = e.shard_id
    return out
