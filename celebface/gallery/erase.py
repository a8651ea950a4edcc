"""Erasing faces for good (faces are biometric data, GDPR art. 9): `forget --purge` and the trash's retention.

`purge(name)` deletes in one change every face of the people of that name, live and in the trash (someone forgotten
earlier included), the people rows, and the archive sightings linked to them: those the model named `name`, those grouped into them (people.py), and in
each photo a face of theirs came from (same content hash), the sighting most like that face if it reaches the
identity's pair threshold (same_face_threshold). The ids of the live faces it deleted stay in its history row, so
that search indexes drop them (`changes_since`). Neither the purge nor the earlier changes of those people can be
undone afterwards: `undo` skips them and says so.

Retention: at every change, faces that went to the trash more than `trash_days` days ago are deleted, and the
changes that put them there can no longer be undone.

After the change commits, the store wipes the erased rows from its files (`_scrub`): SQLite deletes with
secure_delete on (deleted content is overwritten with zeros), a purge also rewrites the file (VACUUM) and removes
the saved HNSW graph, and the WAL is checkpointed and truncated; PostgreSQL VACUUMs the tables.
"""
from __future__ import annotations

import json
import time
from typing import Any, Iterator, Optional, Sequence

from ..errors import CelebfaceError, GalleryError, PersonNotFound
from .calibrate import DEFAULT_THRESHOLD
from .names import validate_name
from .records import Change

#: Key of a history row's undo data saying why the change can no longer be undone.
ERASED = "erased"
#: Ids per DELETE ... IN (...) statement.
CHUNK = 500
#: Changes whose undo data names one person (the rows a purge seals).
PERSON_ACTIONS = ("add", "replace", "forget", "rename")


def same_face_threshold(recorded: str) -> float:
    """Cosine similarity at which two vectors of the gallery's identity (recorded as `recorded`) are one face:
    `compare`'s pair threshold for that identity, else DEFAULT_THRESHOLD."""
    from ..faces.identity import identity_of_gallery
    from ..faces.identity_stats import pair_threshold

    try:
        return pair_threshold(identity_of_gallery(recorded))
    except CelebfaceError:  # an identity this installation does not know
        return DEFAULT_THRESHOLD


def _chunks(ids: Sequence[Any]) -> Iterator[list]:
    ids = list(ids)
    for i in range(0, len(ids), CHUNK):
        yield ids[i:i + CHUNK]


def _marks(n: int) -> str:
    return ", ".join("?" * n)


class ErasureSql:
    """Purge and trash retention over GalleryStore's transactions (mixed into it)."""

    def purge(self, name: str, who: Optional[str] = None) -> Change:
        """Erase a person for good: their faces (in the trash too), and the archive sightings linked to them.

        :param name: the person's name; every person of that name, live or forgotten, is erased
        :param who: recorded in the history (default user@host)
        """
        name = validate_name(name)
        with self._tx(write=True) as cur:
            pids = self._people_named(cur, name)
            if not pids:
                raise PersonNotFound(f"no person named {name!r} in the gallery or its trash; list them with "
                                   f"`celebface people`")
            cid = self._begin_change(cur, "purge", name, who)
            sightings = self._linked_sightings(cur, name, pids)
            live = [int(r[0]) for part in _chunks(sorted(pids)) for r in self._x(
                cur, f"SELECT id FROM faces WHERE person_id IN ({_marks(len(part))})", part).fetchall()]
            faces = self._delete_in(cur, "faces", "person_id", pids)
            trash = self._delete_in(cur, "faces_trash", "person_id", pids)
            self._delete_in(cur, "people", "id", pids)
            seen = self._delete_in(cur, "sightings", "id", sightings)
            self._seal_history(cur, pids, f"change {cid} erased {name} for good")
            self._end_change(cur, cid, f"erased {name} for good: {faces} face(s), {trash} from the trash, {seen} "
                                       f"archive sighting(s); this cannot be undone",
                             {ERASED: "a purge erases faces for good", "faces": live})  # for changes_since
            self._scrub_due = "purge"
        return self._change(cid)

    def _people_named(self, cur: Any, name: str) -> set[int]:
        """Ids of the live person of that name and of those in the trash under it: forgotten, or dropped by an
        import (changes not undone: someone brought back and renamed since is not this name any more)."""
        pids = set()
        live = self._person_id(cur, name)
        if live is not None:
            pids.add(live)
        for (data,) in self._x(cur, "SELECT undo FROM history WHERE action = 'forget' AND name = ? AND undone_by IS "
                                    "NULL", (name,)).fetchall():
            row = json.loads(data).get("person_row")
            if row:
                pids.add(int(row[0]))
        for (data,) in self._x(cur, "SELECT undo FROM history WHERE action = 'import' AND undone_by IS NULL")\
                .fetchall():
            pids.update(int(r[0]) for r in json.loads(data).get("dropped", []) if r[1] == name)
        return pids

    def _linked_sightings(self, cur: Any, name: str, pids: set[int]) -> set[int]:
        """Archive sightings named `name` or given to the people, and in each photo of the people's faces the
        sighting most like the face."""
        ids = {int(r[0]) for r in self._x(cur, "SELECT id FROM sightings WHERE name = ?", (name,)).fetchall()}
        for part in _chunks(sorted(pids)):
            ids.update(int(r[0]) for r in self._x(cur, f"SELECT id FROM sightings WHERE person_id IN "
                                                       f"({_marks(len(part))})", part).fetchall())
        photos: dict[str, list] = {}
        for table in ("faces", "faces_trash"):
            for part in _chunks(sorted(pids)):
                for sha, emb in self._x(cur, f"SELECT sha256, embedding FROM {table} WHERE person_id IN "
                                             f"({_marks(len(part))})", part).fetchall():
                    if sha:
                        photos.setdefault(sha, []).append(emb)
        threshold = same_face_threshold(self.backbone)
        for part in _chunks(sorted(photos)):
            rows = self._x(cur, f"SELECT id, sha256, embedding FROM sightings WHERE sha256 IN ({_marks(len(part))})",
                           part).fetchall()
            for sha in {r[1] for r in rows}:
                mine = [r for r in rows if r[1] == sha]
                sims = self._vecs_out(photos[sha]) @ self._vecs_out([r[2] for r in mine]).T
                ids.update(int(mine[j][0]) for i, j in enumerate(sims.argmax(1)) if sims[i, j] >= threshold)
        return ids

    def _delete_in(self, cur: Any, table: str, column: str, ids: set[int]) -> int:
        n = 0
        for part in _chunks(sorted(ids)):
            n += max(0, self._x(cur, f"DELETE FROM {table} WHERE {column} IN ({_marks(len(part))})", part).rowcount)
        return n

    def _seal_history(self, cur: Any, pids: set[int], why: str) -> None:
        """Earlier changes of the erased people can no longer be undone (their undo data, which may hold the
        person's row, is replaced by the reason); imports forget the erased people they dropped."""
        rows = self._x(cur, "SELECT id, action, undo FROM history WHERE undone_by IS NULL AND action <> 'undo'")\
            .fetchall()
        for hid, action, data in rows:
            undo = json.loads(data)
            if ERASED in undo:
                continue
            if action == "import":
                kept = [r for r in undo.get("dropped", []) if int(r[0]) not in pids]
                if len(kept) == len(undo.get("dropped", [])):
                    continue
                undo = {**undo, "dropped": kept}
            elif action in PERSON_ACTIONS and int(undo.get("person", (undo.get("person_row") or [-1])[0])) in pids:
                undo = {ERASED: why}
            else:
                continue
            self._x(cur, "UPDATE history SET undo = ? WHERE id = ?", (json.dumps(undo), hid))

    def _expire_trash(self, cur: Any) -> int:
        """Delete the faces that went to the trash more than trash_days ago; the changes that put them there can no
        longer be undone. Returns how many faces were erased."""
        if self.trash_days is None:
            return 0
        cutoff = time.time() - float(self.trash_days) * 86400.0
        old = "SELECT id FROM history WHERE at < ?"
        if self._one(cur, f"SELECT 1 FROM faces_trash WHERE removed_change IN ({old}) LIMIT 1", (cutoff,)) is None:
            return 0
        why = {ERASED: f"the faces it removed were erased from the trash after {self.trash_days:g} day(s) "
                       f"(CELEBFACE_TRASH_DAYS)"}
        self._x(cur, "UPDATE history SET undo = ? WHERE undone_by IS NULL AND action <> 'undo' AND at < ? AND id IN "
                     "(SELECT removed_change FROM faces_trash)", (json.dumps(why), cutoff))
        n = self._x(cur, f"DELETE FROM faces_trash WHERE removed_change IN ({old})", (cutoff,)).rowcount
        self._scrub_due = self._scrub_due or "expire"
        return max(0, n)

    def _undo_target(self, cur: Any) -> tuple[Optional[tuple[int, str, str, dict]], list[str]]:
        """The latest change that can be undone (id, action, name, undo data), or None; and why each newer change
        that is not undone cannot be (purged, or its trash erased)."""
        skipped: list[str] = []
        before = None
        while True:
            rows = self._x(cur, "SELECT id, action, name, undo FROM history WHERE undone_by IS NULL AND action <> "
                                "'undo'" + ("" if before is None else " AND id < ?") + " ORDER BY id DESC LIMIT 50",
                           () if before is None else (before,)).fetchall()
            if not rows:
                return None, skipped
            for hid, action, name, data in rows:
                undo = json.loads(data)
                if ERASED not in undo:
                    return (int(hid), action, name, undo), skipped
                skipped.append(f"change {hid} ({f'{action} {name}'.strip()}) cannot be undone: {undo[ERASED]}")
            before = int(rows[-1][0])
