"""The embedded gallery: one SQLite file (WAL mode), MODEL_DIR/gallery.db.

Deletes overwrite the deleted content with zeros (secure_delete), so erased faces leave no copy in the file once
the WAL is checkpointed (erase.py). Writers take SQLite's write lock at the start of each change (BEGIN IMMEDIATE) and wait up to `timeout` seconds
for another process's change to finish; readers never wait for writers (WAL).
"""
from __future__ import annotations

import logging
import shutil
import sqlite3
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator, Optional, Sequence

import numpy as np

from ..errors import GalleryError, GalleryUnavailable
from .operations import GalleryStore
from .people import PEOPLE_DDL, PEOPLE_MIGRATION
from .person_bounds import SQLITE_BOUNDS_DDL
from .sightings import SQLITE_DDL
from .sqlbase import SCHEMA_VERSION

DDL = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT);
CREATE TABLE IF NOT EXISTS people (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL UNIQUE,
    created REAL NOT NULL, updated REAL NOT NULL, metadata TEXT, named INTEGER NOT NULL DEFAULT 1);
CREATE TABLE IF NOT EXISTS faces (id INTEGER PRIMARY KEY AUTOINCREMENT, person_id INTEGER NOT NULL,
    embedding BLOB NOT NULL, model TEXT, weights TEXT, source TEXT, file TEXT, sha256 TEXT, box TEXT, prob REAL,
    added REAL, origin INTEGER NOT NULL, change_id INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS faces_person ON faces (person_id);
CREATE INDEX IF NOT EXISTS faces_change ON faces (change_id);
CREATE INDEX IF NOT EXISTS faces_origin ON faces (origin);
CREATE TABLE IF NOT EXISTS faces_trash (id INTEGER PRIMARY KEY, person_id INTEGER NOT NULL, embedding BLOB NOT NULL,
    model TEXT, weights TEXT, source TEXT, file TEXT, sha256 TEXT, box TEXT, prob REAL, added REAL,
    origin INTEGER NOT NULL, change_id INTEGER NOT NULL, removed_change INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS trash_change ON faces_trash (removed_change);
CREATE TABLE IF NOT EXISTS history (id INTEGER PRIMARY KEY AUTOINCREMENT, at REAL NOT NULL, who TEXT NOT NULL,
    action TEXT NOT NULL, name TEXT NOT NULL, summary TEXT NOT NULL, undo TEXT NOT NULL, undone_by INTEGER);
"""
# Migrations: MIGRATIONS[v] takes a gallery from schema v to v + 1.
MIGRATIONS: dict[int, str] = {1: PEOPLE_MIGRATION}
#: Checkpoints tried (0.1 s apart) after an erasure while another process holds a read open.
SCRUB_TRIES = 50


def _explain(exc: sqlite3.Error, path: Path) -> GalleryError:
    msg = str(exc)
    if "locked" in msg or "busy" in msg:
        return GalleryUnavailable(f"the gallery {path} is locked by another process (a long change?); try again, or "
                            f"stop the process that holds it")
    if "not a database" in msg or "malformed" in msg or "corrupt" in msg:
        return GalleryError(f"the gallery {path} is damaged ({msg}); restore it from a backup or move it away and "
                            f"run `celebface init` again")
    if "readonly" in msg:
        return GalleryError(f"the gallery {path} is read-only; give this user write access to its folder")
    return GalleryError(f"the gallery {path} failed: {msg}")


class SQLiteStore(GalleryStore):
    """A gallery in one SQLite file."""
    kind = "sqlite"

    def __init__(self, path: Path, backbone: str, dim: int, weights: str = "", timeout: float = 10.0) -> None:
        """:param path: the .db file (created if missing)
        :param backbone: the model whose embeddings it holds; another backbone is refused
        :param timeout: seconds a change waits for another process's change"""
        super().__init__(backbone, dim, weights)
        self.path = Path(path)
        self._lock = threading.RLock()
        try:
            self._conn = sqlite3.connect(str(self.path), timeout=timeout, isolation_level=None,
                                         check_same_thread=False)
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA synchronous=NORMAL")
            self._conn.execute("PRAGMA secure_delete=ON")
        except sqlite3.Error as exc:
            raise _explain(exc, self.path) from None
        self._setup()

    def _setup(self) -> None:
        with self._tx(write=True) as cur:
            for stmt in (DDL + SQLITE_DDL).split(";"):
                if stmt.strip():
                    cur.execute(stmt)
            self.check_meta(cur, SCHEMA_VERSION, MIGRATIONS)
            for stmt in PEOPLE_DDL.split(";"):  # after the migration: they use its columns
                if stmt.strip():
                    cur.execute(stmt)
            for stmt in SQLITE_BOUNDS_DDL:
                cur.execute(stmt)

    def check_meta(self, cur: Any, version: int, migrations: dict[int, str]) -> None:
        """Write the schema version and backbone into a new gallery; migrate or refuse an existing one."""
        import uuid

        meta = dict(self._x(cur, "SELECT key, value FROM meta").fetchall())
        if "gallery_id" not in meta:  # names this gallery, for the search index saved beside it
            self._x(cur, "INSERT INTO meta (key, value) VALUES ('gallery_id', ?)", (uuid.uuid4().hex,))
        if "schema_version" not in meta:
            for k, v in (("schema_version", str(version)), ("backbone", self.backbone), ("dim", str(self.dim))):
                self._x(cur, "INSERT INTO meta (key, value) VALUES (?, ?)", (k, v))
            return
        have = int(meta.get("schema_version", "0"))
        if have > version:
            raise GalleryError(f"the gallery has schema version {have}, newer than this celebface reads ({version}); "
                               f"upgrade celebface")
        for v in range(have, version):
            for stmt in migrations[v].split(";"):
                if stmt.strip():
                    self._x(cur, stmt)
        self._x(cur, "UPDATE meta SET value = ? WHERE key = 'schema_version'", (str(version),))
        if meta.get("backbone") != self.backbone or int(meta.get("dim", self.dim)) != self.dim:
            raise GalleryError(f"this gallery holds {meta.get('backbone')} embeddings ({meta.get('dim')} values), "
                               f"not {self.backbone}: embeddings of different models never mix; use another "
                               f"gallery (--gallery) or a model with the {meta.get('backbone')} backbone")

    @contextmanager
    def _tx(self, write: bool) -> Iterator[Any]:
        with self._lock:
            cur = self._conn.cursor()
            try:
                cur.execute("BEGIN IMMEDIATE" if write else "BEGIN")
                yield cur
                cur.execute("COMMIT")
            except BaseException as exc:
                self._scrub_due = None
                if self._conn.in_transaction:
                    self._conn.execute("ROLLBACK")
                if isinstance(exc, sqlite3.Error):
                    raise _explain(exc, self.path) from None
                raise
            finally:
                cur.close()
            due, self._scrub_due = self._scrub_due, None
            if due:
                self._scrub(due)

    def _scrub(self, why: str) -> None:
        """Wipe what a purge or the trash's retention erased from the files: the deletes zeroed it in the pages now in
        the WAL; a purge also rewrites the file (VACUUM: no free space keeps an older copy) and removes the saved
        HNSW graph; then the WAL is copied into the file and truncated (retried while another process reads)."""
        try:
            if why == "purge":
                self._conn.execute("VACUUM")
            shutil.rmtree(self.index_dir(), ignore_errors=True)  # the saved graph holds the vectors too
            for _ in range(SCRUB_TRIES):
                if not self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0]:
                    return
                time.sleep(0.1)
        except sqlite3.Error as exc:
            raise _explain(exc, self.path) from None
        logging.getLogger(__name__).warning(
            "another process is reading %s: its WAL file keeps the erased rows until the next checkpoint",
            self.path)

    def index_dir(self) -> Optional[Path]:
        """Where a large gallery's HNSW index is kept (beside the .db file)."""
        return self.path.with_name(self.path.name + ".index")

    def _vec_in(self, v: np.ndarray) -> Any:
        return np.ascontiguousarray(v, "<f4").tobytes()

    def _vecs_out(self, rows: Sequence[Any], dim: Optional[int] = None) -> np.ndarray:
        return np.frombuffer(b"".join(rows), "<f4").reshape(len(rows), dim or self.dim).copy()

    def close(self) -> None:
        with self._lock:
            self._conn.close()
