"""The rows of the index: one per face, or one per photo without a face (face = -1) so every photo shows up.

Columns: shard, path, sha256, status ("ok" | "no_face" | "unreadable"), error, time (seconds into a video;
null for photos), face (index in the photo, main face first), box [x1, y1, x2, y2] in the photo's pixels,
detector_prob, face_px (the face box's shorter side in pixels), name (null for a face too poor to name),
confidence, score, embedding (the model's identity vector, unit length, for search and clustering; the schema's
metadata names the identity, faces/identity.py, and files without it hold dlib's 128-d ones), quality
(faces/quality.py, in [0, 1]), reason (why name is null) and segment (for a long video indexed in parts, the start
of the part the row came from, seconds; null otherwise). Shards written before quality, reason and segment existed
read with those columns null.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional


#: The schema metadata key naming the identity embedder of the `embedding` column.
IDENTITY_KEY = b"celebface.identity"


def schema(dim: int = 128, identity: str = "dlib"):
    """The pyarrow schema of index rows.

    :param dim: the identity vectors' length; identity: the identity embedder that made them"""
    import pyarrow as pa

    return pa.schema([
        ("shard", pa.string()), ("path", pa.string()), ("sha256", pa.string()), ("status", pa.string()),
        ("error", pa.string()), ("time", pa.float64()), ("face", pa.int32()), ("box", pa.list_(pa.float32(), 4)),
        ("detector_prob", pa.float32()), ("face_px", pa.float32()), ("name", pa.string()),
        ("confidence", pa.float32()), ("score", pa.float32()), ("embedding", pa.list_(pa.float32(), dim)),
        ("quality", pa.float32()), ("reason", pa.string()), ("segment", pa.float64()),
    ], metadata={IDENTITY_KEY: identity.encode()})


def table_identity(table) -> str:
    """The identity embedder whose vectors a table of index rows holds (dlib's in files written before)."""
    meta = table.schema.metadata or {}
    return meta.get(IDENTITY_KEY, b"dlib").decode()


@dataclass
class FaceRow:
    """One row of the index (see the module docstring for the columns)."""

    shard: str
    path: str
    sha256: str
    status: str
    error: Optional[str] = None
    time: Optional[float] = None
    face: int = -1
    box: Optional[list[float]] = None
    detector_prob: Optional[float] = None
    face_px: Optional[float] = None
    name: Optional[str] = None
    confidence: Optional[float] = None
    score: Optional[float] = None
    embedding: Optional[list[float]] = field(default=None, repr=False)
    quality: Optional[float] = None
    reason: Optional[str] = None
    segment: Optional[float] = None


def to_table(rows: list[FaceRow], dim: int = 128, identity: str = "dlib"):
    """Rows as a pyarrow Table with the index schema (`dim`-long vectors of `identity`)."""
    import pyarrow as pa

    sch = schema(dim, identity)
    return pa.Table.from_pydict({n: [getattr(r, n) for r in rows] for n in sch.names}, schema=sch)


def parquet_bytes(table) -> bytes:
    """A table as the bytes of one Parquet file (zstd)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    sink = pa.BufferOutputStream()
    pq.write_table(table, sink, compression="zstd")
    return sink.getvalue().to_pybytes()
