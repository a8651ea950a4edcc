"""The gallery's operations in SQL shared by SQLite and PostgreSQL: people, faces, history and undo.

Every change is one transaction and one history row (who, when, what, and the data to undo it). Removed faces are
moved to `faces_trash`, so `undo` restores them exactly, for `trash_days` days (erase.py erases older trash on
every change, and `forget --purge` at once). `undo` takes back the latest change not yet
undone (a stack). Each face row carries `origin` (the change that inserted it) and `change_id` (the change that last
made it live), so search indexes refresh incrementally from `Delta`s.
"""
from __future__ import annotations

import getpass
import json
import socket
import time
from contextlib import contextmanager
from typing import Any, Iterator, Optional, Sequence

import numpy as np

from ..errors import GalleryError, PersonNotFound
from .records import NewFace

SCHEMA_VERSION = 2  # 2: people may be unnamed, sightings belong to people (people.py)
#: Days removed faces stay in the trash (undoable) unless CELEBFACE_TRASH_DAYS or gallery.json says otherwise.
DEFAULT_TRASH_DAYS = 30.0
FACE_COLS = "person_id, embedding, model, weights, source, file, sha256, box, prob, added, origin, change_id"
ALL_COLS = "id, " + FACE_COLS


def default_who() -> str:
    """`user@host`, recorded in the history when the caller names nobody."""
    try:
        user = getpass.getuser()
    except Exception:  # no user name in containers without passwd entries
        user = "unknown-user"
    return f"{user}@{socket.gethostname()}"


class SqlStore:
    """Gallery operations over a DB-API connection; subclasses connect, create tables and map errors."""
    kind = "sql"
    placeholder = "?"
    #: Whether _x(binary=True) asks the driver for binary results (PostgreSQL: vectors as raw floats, not text to parse)
    binary_results = False
    #: Days the trash keeps removed faces (None: for ever); open_store sets it from the settings.
    trash_days: Optional[float] = DEFAULT_TRASH_DAYS

    def __init__(self, backbone: str, dim: int, weights: str = "") -> None:
        self.backbone, self.dim, self.weights = backbone, int(dim), weights
        self._scrub_due: Optional[str] = None  # "purge" | "expire": erased rows to wipe from disk after the commit

    # --- provided by subclasses -------------------------------------------------------------------------------
    @contextmanager
    def _tx(self, write: bool) -> Iterator[Any]:  # pragma: no cover - abstract
        raise NotImplementedError
        yield

    def _vec_in(self, v: np.ndarray) -> Any:  # pragma: no cover - abstract
        raise NotImplementedError

    def _vecs_out(self, rows: Sequence[Any], dim: Optional[int] = None) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def close(self) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def _scrub(self, why: str) -> None:  # pragma: no cover - abstract
        """Wipe erased rows from the database's files (called after the commit that erased them)."""
        raise NotImplementedError

    # --- helpers ------------------------------------------------------------------------------------------------
    def _x(self, cur: Any, sql: str, params: Sequence[Any] = (), binary: bool = False) -> Any:
        """Run one statement (`?` placeholders); `binary`: results in the driver's binary format where it has one
        (worth it for many vectors)."""
        if self.placeholder != "?":
            sql = sql.replace("?", self.placeholder)
        if binary and self.binary_results:
            cur.execute(sql, tuple(params), binary=True)
        else:
            cur.execute(sql, tuple(params))
        return cur

    def _one(self, cur: Any, sql: str, params: Sequence[Any] = ()) -> Optional[tuple]:
        return self._x(cur, sql, params).fetchone()

    def _person_id(self, cur: Any, name: str) -> Optional[int]:
        row = self._one(cur, "SELECT id FROM people WHERE name = ?", (name,))
        return None if row is None else int(row[0])

    def _require_person(self, cur: Any, name: str) -> int:
        pid = self._person_id(cur, name)
        if pid is None:
            raise PersonNotFound(f"no person named {name!r} in the gallery; list them with `celebface people`")
        return pid

    def _begin_change(self, cur: Any, action: str, name: str, who: Optional[str]) -> int:
        self._expire_trash(cur)  # erase.ErasureSql: the trash older than trash_days goes first
        row = self._one(cur, "INSERT INTO history (at, who, action, name, summary, undo) VALUES (?, ?, ?, ?, '', '{}') "
                             "RETURNING id", (time.time(), who or default_who(), action, name))
        return int(row[0])

    def _end_change(self, cur: Any, cid: int, summary: str, undo: dict) -> None:
        self._x(cur, "UPDATE history SET summary = ?, undo = ? WHERE id = ?", (summary, json.dumps(undo), cid))

    def _new_person(self, cur: Any, name: str, metadata: Optional[dict] = None) -> int:
        now = time.time()
        row = self._one(cur, "INSERT INTO people (name, created, updated, metadata) VALUES (?, ?, ?, ?) RETURNING id",
                        (name, now, now, json.dumps(metadata or {})))
        return int(row[0])

    def _insert_faces(self, cur: Any, pid: int, faces: Sequence[NewFace], cid: int) -> None:
        now = time.time()
        rows = []
        for f in faces:
            v = np.asarray(f.embedding, np.float32).reshape(-1)
            if v.shape[0] != self.dim:
                raise GalleryError(f"a face embedding has {v.shape[0]} values, this gallery stores {self.dim} "
                                   f"({self.backbone}); embeddings of different models never mix")
            v = v / max(float(np.linalg.norm(v)), 1e-8)
            rows.append((pid, self._vec_in(v), self.backbone, self.weights, f.source, f.file, f.sha256,
                         json.dumps(f.box) if f.box is not None else None, f.prob, now, cid, cid))
        sql = f"INSERT INTO faces ({FACE_COLS}) VALUES ({', '.join('?' * 12)})"
        if self.placeholder != "?":
            sql = sql.replace("?", self.placeholder)
        cur.executemany(sql, rows)
        self._x(cur, "UPDATE people SET updated = ? WHERE id = ?", (now, pid))

    def _trash(self, cur: Any, where: str, params: Sequence[Any], cid: int) -> int:
        self._x(cur, f"INSERT INTO faces_trash ({ALL_COLS}, removed_change) SELECT {ALL_COLS}, ? FROM faces "
                     f"WHERE {where}", (cid, *params))
        return self._x(cur, f"DELETE FROM faces WHERE {where}", params).rowcount

    def _restore(self, cur: Any, removed_change: int, cid: int) -> int:
        cols = FACE_COLS.replace("change_id", "?")
        self._x(cur, f"INSERT INTO faces ({ALL_COLS}) SELECT id, {cols} FROM faces_trash WHERE removed_change = ?",
                (cid, removed_change))
        return self._x(cur, "DELETE FROM faces_trash WHERE removed_change = ?", (removed_change,)).rowcount
