"""Loading archive sightings into PostgreSQL fast: COPY instead of one INSERT a face, and, for a load that is large
against what the table holds, the HNSW index built once after the load instead of grown one face at a time.

Inserting into the indexed table is bound by the index insertions, while COPY without the index and one index build
afterwards is several times faster (bench/gallery_add.md). So the index is rebuilt when the table holds fewer than
REBUILD_RATIO times the faces being added.

The rebuild runs in the load's own transaction: a load that fails leaves the table and its index as they were, and
other sessions' sighting searches wait for the load to commit (the people gallery is not touched).
"""
from __future__ import annotations

import time
from typing import Any, Iterable, Sequence

import numpy as np

from .sightings import INSERT_COLS, POSTGRES_INDEX_DDL, SIGHTING_DIM, Sighting, checked_vectors, sighting_values

#: Rebuild the index when the table holds fewer faces than this many times the faces added (see above).
REBUILD_RATIO = 4
#: Loads smaller than this always grow the index (a rebuild has a fixed cost and blocks searches meanwhile).
REBUILD_MIN = 20000
#: Memory the index build may use per face (the vector and its graph links, with room to spare), and at most in
#: all: a graph that does not fit is built on disk, several times slower.
BUILD_BYTES_PER_FACE = 1536
BUILD_MEMORY_MAX_MB = 4096
_TYPES = ["text", "text", "float8", "int4", "text", "float8", "text", "float8", "vector", "float8"]


def should_rebuild(cur: Any, adding: int) -> bool:
    """Whether building the HNSW index after the load is cheaper than growing it face by face.

    :param cur: a cursor in the load's transaction
    :param adding: faces about to be loaded
    """
    if adding < REBUILD_MIN:
        return False  # not worth counting the table
    existing = int(cur.execute("SELECT count(*) FROM sightings").fetchone()[0])
    return existing < REBUILD_RATIO * adding


def stage_table(cur: Any) -> None:
    """A temporary table shaped like a sighting row, dropped at the end of the transaction."""
    cur.execute(f"CREATE TEMP TABLE sightings_stage ON COMMIT DROP AS SELECT {INSERT_COLS} FROM sightings WITH NO DATA")


def copy_rows(cur: Any, sightings: Sequence[Sighting], vecs: np.ndarray, now: float, dim: int = SIGHTING_DIM,
              identity: str = "") -> None:
    """COPY (binary) sightings into the staging table (vectors of the gallery's length `dim` only)."""
    with cur.copy(f"COPY sightings_stage ({INSERT_COLS}) FROM STDIN WITH (FORMAT BINARY)") as copy:
        copy.set_types(_TYPES)
        for s, v in zip(sightings, checked_vectors(sightings, vecs, dim, identity)):
            copy.write_row(sighting_values(s, v, now))


def insert_staged(cur: Any) -> int:
    """Move the staged rows into sightings, skipping faces already there; returns how many were new."""
    cur.execute(f"INSERT INTO sightings ({INSERT_COLS}) SELECT {INSERT_COLS} FROM sightings_stage "
                f"ON CONFLICT DO NOTHING")
    added = max(0, cur.rowcount)
    cur.execute("TRUNCATE sightings_stage")
    return added


def load_sightings(cur: Any, chunks: Iterable[tuple[Sequence[Sighting], np.ndarray]], rebuild: bool,
                   dim: int = SIGHTING_DIM, identity: str = "") -> int:
    """Load every chunk in the caller's transaction; with `rebuild`, the HNSW index is dropped first and built
    once at the end. Returns how many faces were new.

    :param dim: the gallery's vector length; identity: its identity (named in a mismatch's error)"""
    now, added = time.time(), 0
    stage_table(cur)
    if rebuild:
        cur.execute("DROP INDEX IF EXISTS sightings_hnsw")
    for sightings, vecs in chunks:
        copy_rows(cur, sightings, vecs, now, dim, identity)
        added += insert_staged(cur)
    if rebuild:
        build_index(cur)
    return added


def build_index(cur: Any) -> None:
    """Build the sightings' HNSW index, with enough maintenance_work_mem (for this transaction only) for its graph
    to fit in memory, up to BUILD_MEMORY_MAX_MB; never less than the server's own setting."""
    faces = int(cur.execute("SELECT count(*) FROM sightings").fetchone()[0])
    have = int(cur.execute("SELECT setting::bigint * 1024 FROM pg_settings WHERE name = 'maintenance_work_mem'")
               .fetchone()[0])  # the setting is in kB
    want = min(faces * BUILD_BYTES_PER_FACE, BUILD_MEMORY_MAX_MB << 20)
    if want > have:
        cur.execute(f"SET LOCAL maintenance_work_mem = '{want >> 20}MB'")
    cur.execute(POSTGRES_INDEX_DDL)
