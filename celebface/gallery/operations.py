"""The gallery's public operations (add, replace, forget, rename, import, undo, read) on top of SqlStore; purge and
the trash's retention are in erase.py."""
from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path
from dataclasses import replace
from typing import Any, Optional, Sequence

import numpy as np

from ..errors import GalleryError, NameTaken, shown
from .erase import ErasureSql
from .names import name_key, validate_name
from .people import PEOPLE_ACTIONS, PeopleSql
from .person_bounds import PersonBoundsSql
from .records import Change, Delta, Neighbours, NewFace, Person
from .sightings import SCAN_ROWS, SightingsSql
from .sqlbase import SqlStore


class GalleryStore(SqlStore, SightingsSql, ErasureSql, PeopleSql, PersonBoundsSql):
    """A people gallery; SQLiteStore and PostgresStore connect it to a database."""

    def add(self, name: str, faces: Sequence[NewFace], who: Optional[str] = None, replace: bool = False,
            metadata: Optional[dict] = None) -> Change:
        """Add faces to a person (created if new); with `replace`, their earlier faces go to the trash first.

        :param name: the person's name (validated)
        :param faces: at least one face
        :param who: recorded in the history (default user@host)
        :param replace: remove the person's existing faces in the same change
        :param metadata: stored with a new person
        """
        name = validate_name(name)
        if not faces:
            raise GalleryError(f"no faces to add for {name}")
        action = "replace" if replace else "add"
        with self._tx(write=True) as cur:
            pid = self._person_id(cur, name)
            created = pid is None
            if created:
                self._refuse_look_alike(cur, name)
            cid = self._begin_change(cur, action, name, who)
            if created:
                pid = self._new_person(cur, name, metadata)
            removed = self._trash(cur, "person_id = ?", (pid,), cid) if replace and not created else 0
            self._insert_faces(cur, pid, faces, cid)
            summary = f"{'new person, ' if created else ''}{len(faces)} face(s) added" + (
                f", {removed} earlier face(s) removed" if removed else "")
            self._end_change(cur, cid, summary, {"person": pid, "created": created})
        return self._change(cid)

    def forget(self, name: str, who: Optional[str] = None, purge: bool = False) -> Change:
        """Remove a person and their faces (kept in the trash for trash_days days, so that `undo` can bring them
        back); with `purge`, erase them and the archive sightings linked to them for good (erase.py).

        :param name: the person's name
        :param who: recorded in the history (default user@host)
        :param purge: erase for good (not undoable)
        """
        if purge:
            return self.purge(name, who)
        name = validate_name(name)
        with self._tx(write=True) as cur:
            pid = self._require_person(cur, name)
            row = self._one(cur, "SELECT id, name, created, updated, metadata FROM people WHERE id = ?", (pid,))
            cid = self._begin_change(cur, "forget", name, who)
            n = self._trash(cur, "person_id = ?", (pid,), cid)
            seen = [list(r) for r in self._x(cur, "SELECT id, pinned FROM sightings WHERE person_id = ?",
                                             (pid,)).fetchall()]
            self._x(cur, "UPDATE sightings SET person_id = NULL, pinned = 0 WHERE person_id = ?", (pid,))
            named = self._one(cur, "SELECT named FROM people WHERE id = ?", (pid,))[0]
            self._x(cur, "DELETE FROM people WHERE id = ?", (pid,))
            self._end_change(cur, cid, f"forgot {name} and {n} face(s)", {"person_row": list(row), "sightings": seen,
                                                                          "named": int(named)})
        return self._change(cid)

    def rename(self, old: str, new: str, who: Optional[str] = None) -> Change:
        """Rename a person; the new name must be free."""
        old, new = validate_name(old), validate_name(new)
        if old == new:  # a no-op is not recorded: undo would have nothing to take back
            raise GalleryError(f"{old!r} is already called that; nothing was changed")
        with self._tx(write=True) as cur:
            pid = self._require_person(cur, old)
            if self._person_id(cur, new) is not None:
                raise NameTaken(f"{new!r} is already in the gallery; forget or rename that person first")
            self._refuse_look_alike(cur, new, pid)  # 'Ann' -> 'ANN' is allowed: it is the same person
            cid = self._begin_change(cur, "rename", old, who)
            self._x(cur, "UPDATE people SET name = ? WHERE id = ?", (new, pid))
            self._end_change(cur, cid, f"renamed {old} to {new}", {"person": pid, "old": old, "new": new})
        return self._change(cid)

    def import_training(self, key: str, names: Sequence[str], faces: Sequence[NewFace], labels: np.ndarray,
                        who: Optional[str] = None) -> Optional[Change]:
        """Put a model's training faces in the gallery (source='training'), replacing an earlier import.

        Does nothing (returns None) when the faces of `key` (the bundle's id) are already there. Enrolled faces
        are never touched.
        :param key: the bundle's id or content hash
        :param names: class names; `labels[i]` indexes them for `faces[i]`
        """
        with self._tx(write=True) as cur:
            row = self._one(cur, "SELECT value FROM meta WHERE key = 'training_key'")
            if row is not None and row[0] == key:
                return None
            cid = self._begin_change(cur, "import", "", who)
            removed = self._trash(cur, "source = 'training'", (), cid)
            created, by_label = [], defaultdict(list)
            for f, lab in zip(faces, labels):
                by_label[int(lab)].append(replace(f, source="training"))
            for k, name in enumerate(names):
                mine = by_label.get(k, [])
                if not mine:
                    continue
                name = validate_name(name)
                pid = self._person_id(cur, name)
                if pid is None:
                    pid = self._new_person(cur, name)
                    created.append(pid)
                self._insert_faces(cur, pid, mine, cid)
            self._set_meta(cur, "training_key", key)
            dropped = self._drop_empty_people(cur)
            self._end_change(cur, cid, f"imported {len(faces)} training face(s) of {len(names)} people from model "
                                       f"{key[:12]}, {removed} earlier training face(s) removed",
                             {"created": created, "old_key": None if row is None else row[0], "dropped": dropped})
        return self._change(cid)

    def _look_alike(self, cur: Any, name: str, pid: Optional[int] = None) -> Optional[str]:
        """The name of another person (not `pid`) whose name differs from `name` only in case or width."""
        key = name_key(name)
        for other_id, other in self._x(cur, "SELECT id, name FROM people").fetchall():
            if other_id != pid and other != name and name_key(other) == key:
                return other
        return None

    def _refuse_look_alike(self, cur: Any, name: str, pid: Optional[int] = None) -> None:
        other = self._look_alike(cur, name, pid)
        if other is not None:
            raise NameTaken(f"'{shown(name)}' differs from '{shown(other)}', who is in the gallery, only in case "
                               f"or width: use '{shown(other)}', or rename that person first")

    def _drop_empty_people(self, cur: Any) -> list[list]:
        """Delete people left without faces (training people not in the new model); returns their rows."""
        rows = self._x(cur, "SELECT id, name, created, updated, metadata FROM people p WHERE NOT EXISTS "
                            "(SELECT 1 FROM faces f WHERE f.person_id = p.id) AND NOT EXISTS (SELECT 1 FROM "
                            "sightings s WHERE s.person_id = p.id)").fetchall()
        for r in rows:
            self._x(cur, "DELETE FROM people WHERE id = ?", (r[0],))
        return [list(r) for r in rows]

    def _set_meta(self, cur: Any, key: str, value: Optional[str]) -> None:
        self._x(cur, "DELETE FROM meta WHERE key = ?", (key,))
        if value is not None:
            self._x(cur, "INSERT INTO meta (key, value) VALUES (?, ?)", (key, value))

    def undo(self, who: Optional[str] = None) -> Change:
        """Take back the latest change that is not yet undone; returns the new 'undo' history row."""
        with self._tx(write=True) as cur:
            self._expire_trash(cur)  # before choosing: a change whose trash expires now cannot be undone
            row, skipped = self._undo_target(cur)
            if row is None:
                raise GalleryError("nothing to undo: " + (skipped[0] if skipped else
                                                          "the history has no change that is not undone already"))
            target, action, name, data = row
            cid = self._begin_change(cur, "undo", name, who)
            self._undo_one(cur, target, action, data, cid)
            self._x(cur, "UPDATE history SET undone_by = ? WHERE id = ?", (cid, target))
            what = f"{action} {name}".strip()
            passed = "".join(f"; skipped {s}" for s in skipped[:1]) + (
                f" (and {len(skipped) - 1} more)" if len(skipped) > 1 else "")
            self._end_change(cur, cid, f"undid change {target} ({what}){passed}", {"target": target})
        return self._change(cid)

    def _undo_one(self, cur: Any, target: int, action: str, data: dict, cid: int) -> None:
        if action in ("add", "replace", "import"):
            self._trash(cur, "origin = ?", (target,), cid)
            self._restore(cur, target, cid)
            for pid in ([data["person"]] if data.get("created") is True else data.get("created") or []):
                self._x(cur, "DELETE FROM people WHERE id = ? AND NOT EXISTS (SELECT 1 FROM faces WHERE "
                             "person_id = ?)", (pid, pid))
            if action == "import":
                self._set_meta(cur, "training_key", data.get("old_key"))
                for row in data.get("dropped", []):
                    self._x(cur, "INSERT INTO people (id, name, created, updated, metadata) VALUES (?, ?, ?, ?, ?)",
                            tuple(row))
        elif action == "forget":
            pid, name, created, updated, metadata = data["person_row"]
            if self._person_id(cur, name) is not None or self._look_alike(cur, name):
                raise GalleryError(f"cannot undo forgetting {name!r}: someone of that name is in the gallery now; "
                                   f"rename or forget them first")
            self._x(cur, "INSERT INTO people (id, name, created, updated, metadata, named) VALUES (?, ?, ?, ?, ?, ?)",
                    (pid, name, created, updated, metadata, data.get("named", 1)))
            self._restore(cur, target, cid)
            for sid, pinned in data.get("sightings", []):
                self._x(cur, "UPDATE sightings SET person_id = ?, pinned = ? WHERE id = ?", (pid, pinned, sid))
        elif action == "rename":  # an old no-op rename (old == new) finds its own person: nothing is in the way
            if self._person_id(cur, data["old"]) not in (None, data["person"]):
                raise GalleryError(f"cannot undo the rename: {data['old']!r} is taken now; rename that person first")
            self._x(cur, "UPDATE people SET name = ? WHERE id = ?", (data["old"], data["person"]))
        elif action in PEOPLE_ACTIONS:
            self._undo_people(cur, target, data, cid)
        else:
            raise GalleryError(f"change {target} ({action}) cannot be undone")

    # --- reading ------------------------------------------------------------------------------------------------
    def people(self) -> list[Person]:
        """Every named person with their number of faces, by name (people_overview lists the unnamed ones too)."""
        with self._tx(write=False) as cur:
            rows = self._x(cur, "SELECT p.id, p.name, count(f.id), p.created, p.updated, p.metadata FROM people p "
                                "LEFT JOIN faces f ON f.person_id = p.id WHERE p.named = 1 GROUP BY p.id, p.name, "
                                "p.created, p.updated, p.metadata ORDER BY p.name").fetchall()
        return [Person(int(r[0]), r[1], int(r[2]), float(r[3]), float(r[4]), json.loads(r[5] or "{}")) for r in rows]

    def history(self, limit: int = 50) -> list[Change]:
        """The latest changes, newest first."""
        with self._tx(write=False) as cur:
            rows = self._x(cur, "SELECT id, at, who, action, name, summary, undone_by FROM history ORDER BY id DESC "
                                "LIMIT ?", (int(limit),)).fetchall()
        return [Change(int(r[0]), float(r[1]), r[2], r[3], r[4], r[5], r[6]) for r in rows]

    def _change(self, cid: int) -> Change:
        with self._tx(write=False) as cur:
            r = self._one(cur, "SELECT id, at, who, action, name, summary, undone_by FROM history WHERE id = ?", (cid,))
        return Change(int(r[0]), float(r[1]), r[2], r[3], r[4], r[5], r[6])

    def change_id(self) -> int:
        """The id of the latest change (0 for a new gallery): cheap to poll."""
        with self._tx(write=False) as cur:
            row = self._one(cur, "SELECT max(id) FROM history")
        return int(row[0] or 0)

    def changes_since(self, since: int) -> Delta:
        """Faces made live and faces removed (to the trash, or purged) after change `since`, and every live person's
        name."""
        with self._tx(write=False) as cur:
            now = int(self._one(cur, "SELECT max(id) FROM history")[0] or 0)
            rows = self._x(cur, "SELECT id, person_id, embedding FROM faces WHERE change_id > ? AND change_id <= ?",
                           (since, now)).fetchall()
            removed = [r[0] for r in self._x(cur, "SELECT id FROM faces_trash WHERE removed_change > ? AND "
                                                  "removed_change <= ?", (since, now)).fetchall()]
            for (data,) in self._x(cur, "SELECT undo FROM history WHERE action = 'purge' AND id > ? AND id <= ?",
                                   (since, now)).fetchall():
                removed += json.loads(data).get("faces", [])  # erased for good, not in the trash
            names = dict(self._x(cur, "SELECT id, name FROM people").fetchall())
        ids = np.array([r[0] for r in rows], np.int64)
        people = np.array([r[1] for r in rows], np.int64)
        vecs = self._vecs_out([r[2] for r in rows]) if rows else np.zeros((0, self.dim), np.float32)
        return Delta(now, ids, people, vecs, np.array(removed, np.int64),
                     {int(k): v for k, v in names.items()})

    def gallery_id(self) -> str:
        """A random id given to the gallery when it was made."""
        with self._tx(write=False) as cur:
            row = self._one(cur, "SELECT value FROM meta WHERE key = 'gallery_id'")
        return row[0] if row else ""

    def index_dir(self) -> Optional[Path]:
        """Where an in-process search index of this gallery may be saved (None: nowhere)."""
        return None

    def names(self) -> dict[int, str]:
        """Person id -> name of every person."""
        with self._tx(write=False) as cur:
            return {int(k): v for k, v in self._x(cur, "SELECT id, name FROM people").fetchall()}

    def sample(self, n: int) -> tuple[np.ndarray, np.ndarray]:
        """Up to n random live faces: (person ids, (n, D) embeddings), for calibration."""
        with self._tx(write=False) as cur:
            rows = self._x(cur, "SELECT person_id, embedding FROM faces ORDER BY random() LIMIT ?",
                           (int(n),)).fetchall()
        if not rows:
            return np.zeros(0, np.int64), np.zeros((0, self.dim), np.float32)
        return np.array([r[0] for r in rows], np.int64), self._vecs_out([r[1] for r in rows])

    def person_faces(self, person_id: int) -> np.ndarray:
        """(n, D) embeddings of one person's faces."""
        with self._tx(write=False) as cur:
            rows = self._x(cur, "SELECT embedding FROM faces WHERE person_id = ?", (int(person_id),)).fetchall()
        return self._vecs_out([r[0] for r in rows]) if rows else np.zeros((0, self.dim), np.float32)

    def count_faces(self) -> int:
        """How many live faces the people have."""
        with self._tx(write=False) as cur:
            return int(self._one(cur, "SELECT count(*) FROM faces")[0])

    def search(self, queries: np.ndarray, k: int) -> Neighbours:
        """The k nearest live faces of each query by an exact scan, SCAN_ROWS faces at a time (PostgresStore
        answers from pgvector's index instead).

        :param queries: (Q, D) unit vectors
        """
        q = np.asarray(queries, np.float32).reshape(-1, self.dim)
        found, last = Neighbours.none(len(q), k), 0
        while True:
            with self._tx(write=False) as cur:
                rows = self._x(cur, "SELECT id, person_id, embedding FROM faces WHERE id > ? ORDER BY id LIMIT ?",
                               (last, SCAN_ROWS)).fetchall()
            if not rows:
                return found
            last = int(rows[-1][0])
            faces = np.concatenate([found.faces, np.array([[r[0] for r in rows]] * len(q), np.int64)], 1)
            people = np.concatenate([found.people, np.array([[r[1] for r in rows]] * len(q), np.int64)], 1)
            sims = np.concatenate([found.sims, q @ self._vecs_out([r[2] for r in rows]).T], 1)
            top = np.argsort(-sims, axis=1, kind="stable")[:, :k]
            found = Neighbours(*(np.take_along_axis(a, top, 1) for a in (people, sims, faces)))
