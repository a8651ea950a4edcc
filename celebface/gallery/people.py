"""People in the gallery, named or not, and which archive faces (sightings) are theirs: the reading, the grouping
runs' writes and the user's corrections, each one change in the history that `undo` takes back.

A person is a row of `people`; `named` is 0 for a person found by grouping that nobody has named yet (its name is
then UNNAMED_PREFIX + its id, which no real name can be: names have no slash). Naming one is a rename. A sighting
belongs to at most one person (`sightings.person_id`). The user's corrections are constraints that every grouping
run respects (grouping.py):

- a face moved to a person is `pinned`: no run moves it again;
- a face marked "not this person" gets a row in `sighting_not_person`: no run gives it to that person;
- two people merged: all their faces are pinned to the one person;
- a person split: both parts are pinned, and the two people are kept apart (`people_apart`): no suggestion pairs
  them.
"""
from __future__ import annotations

import json
import time
from collections import Counter
from dataclasses import dataclass
from typing import Any, Optional, Sequence

import numpy as np

from ..errors import GalleryError, NameTaken, PersonNotFound
from .names import validate_name
from .records import Change, Person

#: Name of an unnamed person: this prefix and the person's id (a slash: never a valid name).
UNNAMED_PREFIX = "unnamed/"
#: History actions of this module (their undo data is a PeopleUndo's dict).
PEOPLE_ACTIONS = ("group", "regroup", "move", "not-person", "merge", "split", "name", "apart")
#: Schema 1 -> 2 (both databases).
PEOPLE_MIGRATION = """
ALTER TABLE people ADD COLUMN named INTEGER NOT NULL DEFAULT 1;
ALTER TABLE sightings ADD COLUMN person_id BIGINT;
ALTER TABLE sightings ADD COLUMN pinned INTEGER NOT NULL DEFAULT 0
"""
#: Made after any migration (idempotent).
PEOPLE_DDL = """
CREATE INDEX IF NOT EXISTS sightings_person ON sightings (person_id);
CREATE TABLE IF NOT EXISTS sighting_not_person (sighting_id BIGINT NOT NULL, person_id BIGINT NOT NULL,
    PRIMARY KEY (sighting_id, person_id));
CREATE TABLE IF NOT EXISTS people_apart (a BIGINT NOT NULL, b BIGINT NOT NULL, PRIMARY KEY (a, b))
"""
PERSON_ROW = "id, name, created, updated, metadata, named"


@dataclass
class GalleryFaces:
    """Every sighting of the gallery (ids, photo keys, person or -1, pinned) with its vectors, the enrolled faces
    (person, vector), and the constraints: what a grouping run reads."""
    ids: np.ndarray  # (N,) int64 sighting ids
    photos: np.ndarray  # (N,) object: sha256 + frame, the photo (or video frame) of each face
    person: np.ndarray  # (N,) int64, -1 for nobody
    pinned: np.ndarray  # (N,) bool
    vecs: np.ndarray  # (N, D) float32
    enrolled_people: np.ndarray  # (M,) int64
    enrolled_vecs: np.ndarray  # (M, D)
    not_person: set[tuple[int, int]]  # (sighting id, person id) pairs never to join
    apart: set[tuple[int, int]]  # (person, person) pairs (smaller id first) never to merge
    named: dict[int, bool]  # every person id -> named
    sizes: Optional[dict[int, int]] = None  # faces of each person not among those read (grouping_faces), if any


@dataclass
class Assignment:
    """What a grouping run decided: sighting id -> existing person id, and new unnamed people (lists of sighting
    ids); sightings it leaves out become nobody's (a full regroup)."""
    to_people: dict[int, int]
    new_people: list[list[int]]
    unassign: list[int]


def _undo_data() -> dict:
    return {"sightings": [], "created": [], "dropped": [], "not_person": [], "apart": [], "renamed": None,
            "faces_moved": False}


def photo_key(sha256: str, frame: float) -> str:
    """One photo or one video frame: faces with the same key are never one person."""
    return f"{sha256}@{float(frame):g}"


class PeopleSql:
    """People and their sightings over GalleryStore's transactions (mixed into it)."""

    # --- reading ------------------------------------------------------------------------------------------------
    def people_overview(self) -> list[Person]:
        """Every person, named first (by name) then unnamed (most sightings first), with faces and sightings."""
        with self._tx(write=False) as cur:
            rows = self._x(cur, "SELECT p.id, p.name, (SELECT count(*) FROM faces f WHERE f.person_id = p.id), "
                                "p.created, p.updated, p.metadata, p.named, (SELECT count(*) FROM sightings s WHERE "
                                "s.person_id = p.id) FROM people p").fetchall()
        people = [Person(int(r[0]), r[1], int(r[2]), float(r[3]), float(r[4]), json.loads(r[5] or "{}"),
                         bool(r[6]), int(r[7])) for r in rows]
        return sorted(people, key=lambda p: (not p.named, p.name if p.named else "", -p.sightings, p.id))

    def person(self, ref: str) -> Person:
        """A person by name, or by id (digits, or '#17', or 'unnamed/17').

        :param ref: what the user typed
        """
        ref = str(ref).strip()
        key = ref[len(UNNAMED_PREFIX):] if ref.startswith(UNNAMED_PREFIX) else ref.lstrip("#")
        people = self.people_overview()
        found = [p for p in people if p.name == ref] or [p for p in people if key.isdigit() and p.id == int(key)]
        if not found:
            raise PersonNotFound(f"no person {ref!r} in the gallery; list them with `celebface person list`")
        return found[0]

    def person_sightings(self, person_id: int) -> tuple[list, np.ndarray, np.ndarray]:
        """One person's sightings (sightings.Sighting), their vectors and which are pinned.

        :param person_id: the person's id
        """
        from .sightings import SIGHTING_COLS, sighting_from_row

        with self._tx(write=False) as cur:
            rows = self._x(cur, f"SELECT {SIGHTING_COLS}, pinned, embedding FROM sightings WHERE person_id = ? "
                                "ORDER BY id", (int(person_id),)).fetchall()
        vecs = self._vecs_out([r[-1] for r in rows]) if rows else np.zeros((0, self.dim), np.float32)
        return [sighting_from_row(r) for r in rows], vecs, np.array([bool(r[-2]) for r in rows], bool)

    def sighting(self, sid: int):
        """One archive face (sightings.Sighting) by id.

        :param sid: the sighting's id
        """
        from .sightings import SIGHTING_COLS, sighting_from_row

        with self._tx(write=False) as cur:
            row = self._one(cur, f"SELECT {SIGHTING_COLS} FROM sightings WHERE id = ?", (int(sid),))
        if row is None:
            raise GalleryError(f"no face {sid} in the gallery's archive faces; list a person's faces with "
                               f"`celebface person faces`")
        return sighting_from_row(row)

    def gallery_faces(self) -> GalleryFaces:
        """Every sighting with its person and vector, the enrolled faces and the constraints (for grouping)."""
        ids, photos, person, pinned, chunks, last = [], [], [], [], [], 0
        with self._tx(write=False) as cur:
            while True:
                rows = self._x(cur, "SELECT id, sha256, frame, person_id, pinned, embedding FROM sightings WHERE "
                                    "id > ? ORDER BY id LIMIT 20000", (last,)).fetchall()
                if not rows:
                    break
                last = int(rows[-1][0])
                ids += [int(r[0]) for r in rows]
                photos += [photo_key(r[1], r[2]) for r in rows]
                person += [-1 if r[3] is None else int(r[3]) for r in rows]
                pinned += [bool(r[4]) for r in rows]
                chunks.append(self._vecs_out([r[5] for r in rows]))
            enrolled = self._x(cur, "SELECT person_id, embedding FROM faces").fetchall()
            not_person = {(int(a), int(b)) for a, b in self._x(cur, "SELECT sighting_id, person_id FROM "
                                                                    "sighting_not_person").fetchall()}
            apart = {(int(a), int(b)) for a, b in self._x(cur, "SELECT a, b FROM people_apart").fetchall()}
            named = {int(a): bool(b) for a, b in self._x(cur, "SELECT id, named FROM people").fetchall()}
        empty = np.zeros((0, self.dim), np.float32)
        return GalleryFaces(np.array(ids, np.int64), np.array(photos, object), np.array(person, np.int64),
                            np.array(pinned, bool), np.concatenate(chunks) if chunks else empty,
                            np.array([int(r[0]) for r in enrolled], np.int64),
                            self._vecs_out([r[1] for r in enrolled]) if enrolled else empty, not_person, apart, named)

    def grouping_faces(self, k: int, max_distance: float) -> GalleryFaces:
        """What an incremental run needs, without reading the whole archive: the faces nobody has, the k known
        faces nearest to each, the known faces of their photos, every enrolled face, and the constraints on them.

        :param k: known neighbours per free face (grouping.ATTACH_K)
        :param max_distance: cosine distance beyond which a known face does not count (the attach distance)
        """
        with self._tx(write=False) as cur:
            free = self._x(cur, "SELECT id, sha256, frame, person_id, pinned, embedding FROM sightings WHERE "
                                "person_id IS NULL", binary=True).fetchall()
            vecs = self._vecs_out([r[5] for r in free]) if free else np.zeros((0, self.dim), np.float32)
            near = set(self._known_near(cur, vecs, k, max_distance)) if free else set()
            shas = sorted({r[1] for r in free})
            for part in [shas[i:i + 500] for i in range(0, len(shas), 500)]:
                near.update(int(r[0]) for r in self._x(cur, f"SELECT id FROM sightings WHERE person_id IS NOT NULL "
                                                            f"AND sha256 IN ({', '.join('?' * len(part))})",
                                                       part).fetchall())
            known = self._rows_by_id(cur, sorted(near))
            rows = free + known
            enrolled = self._x(cur, "SELECT person_id, embedding FROM faces").fetchall()
            counts = dict(self._x(cur, "SELECT person_id, count(*) FROM sightings WHERE person_id IS NOT NULL "
                                       "GROUP BY person_id").fetchall())
            ids = [int(r[0]) for r in free]
            not_person = {(int(a), int(b)) for part in [ids[i:i + 500] for i in range(0, len(ids), 500)]
                          for a, b in self._x(cur, f"SELECT sighting_id, person_id FROM sighting_not_person WHERE "
                                                   f"sighting_id IN ({', '.join('?' * len(part))})", part).fetchall()}
            named = {int(a): bool(b) for a, b in self._x(cur, "SELECT id, named FROM people").fetchall()}
        read = Counter(int(r[3]) for r in known)
        empty = np.zeros((0, self.dim), np.float32)
        return GalleryFaces(np.array([int(r[0]) for r in rows], np.int64),
                            np.array([photo_key(r[1], r[2]) for r in rows], object),
                            np.array([-1 if r[3] is None else int(r[3]) for r in rows], np.int64),
                            np.array([bool(r[4]) for r in rows], bool),
                            self._vecs_out([r[5] for r in rows]) if rows else empty,
                            np.array([int(r[0]) for r in enrolled], np.int64),
                            self._vecs_out([r[1] for r in enrolled]) if enrolled else empty, not_person, set(), named,
                            {int(p): int(n) - read.get(int(p), 0) for p, n in counts.items()})

    def known_faces_near(self, vecs: np.ndarray, k: int, max_distance: float) -> GalleryFaces:
        """The known faces among the k nearest to each vector within `max_distance`, every enrolled face, and each
        person's size: what deciding who a face from outside the gallery is needs (grouping.who_is). Writes
        nothing (people without a cone are read whole).

        :param vecs: (Q, dim) unit vectors of the gallery's identity
        :param k: known neighbours per vector (grouping.ATTACH_K)
        :param max_distance: cosine distance beyond which a known face does not count
        """
        vecs = np.asarray(vecs, np.float32).reshape(-1, self.dim)
        with self._tx(write=False) as cur:
            rows = self._rows_by_id(cur, self._known_near(cur, vecs, k, max_distance)) if len(vecs) else []
            enrolled = self._x(cur, "SELECT person_id, embedding FROM faces").fetchall()
            counts = dict(self._x(cur, "SELECT person_id, count(*) FROM sightings WHERE person_id IS NOT NULL "
                                       "GROUP BY person_id").fetchall())
            named = {int(a): bool(b) for a, b in self._x(cur, "SELECT id, named FROM people").fetchall()}
        read = Counter(int(r[3]) for r in rows)
        empty = np.zeros((0, self.dim), np.float32)
        return GalleryFaces(np.array([int(r[0]) for r in rows], np.int64),
                            np.array([photo_key(r[1], r[2]) for r in rows], object),
                            np.array([int(r[3]) for r in rows], np.int64), np.array([bool(r[4]) for r in rows], bool),
                            self._vecs_out([r[5] for r in rows]) if rows else empty,
                            np.array([int(r[0]) for r in enrolled], np.int64),
                            self._vecs_out([r[1] for r in enrolled]) if enrolled else empty, set(), set(), named,
                            {int(p): int(n) - read.get(int(p), 0) for p, n in counts.items()})

    def _rows_by_id(self, cur: Any, ids: Sequence[int]) -> list:
        out: list = []
        for part in [list(ids)[i:i + 500] for i in range(0, len(ids), 500)]:
            out += self._x(cur, f"SELECT id, sha256, frame, person_id, pinned, embedding FROM sightings WHERE id IN "
                                f"({', '.join('?' * len(part))})", part, binary=True).fetchall()
        return out

    # --- helpers ------------------------------------------------------------------------------------------------
    def _new_unnamed(self, cur: Any, undo: dict) -> int:
        now = time.time()
        row = self._one(cur, "INSERT INTO people (name, created, updated, metadata, named) VALUES (?, ?, ?, '{}', 0) "
                             "RETURNING id", (f"{UNNAMED_PREFIX}new-{now}-{len(undo['created'])}", now, now))
        pid = int(row[0])
        self._x(cur, "UPDATE people SET name = ? WHERE id = ?", (f"{UNNAMED_PREFIX}{pid}", pid))
        undo["created"].append(pid)
        return pid

    def _set_person(self, cur: Any, sids: Sequence[int], pid: Optional[int], pinned: bool, undo: dict,
                    run: bool = False) -> None:
        """Give sightings to a person (None: nobody), remembering what they were. A grouping run (`run`) leaves
        alone the faces a user placed meanwhile (pinned) and those erased meanwhile."""
        free = " AND pinned = 0" if run else ""
        for part in [list(sids)[i:i + 500] for i in range(0, len(sids), 500)]:
            marks = ", ".join("?" * len(part))
            rows = self._x(cur, f"SELECT id, person_id, pinned FROM sightings WHERE id IN ({marks}){free}",
                           part).fetchall()
            if len(rows) != len(set(part)) and not run:
                raise GalleryError("a face is not in the gallery (any more); list a person's faces with "
                                   "`celebface person faces`")
            undo["sightings"] += [[int(r[0]), r[1], int(r[2])] for r in rows]
            self._x(cur, f"UPDATE sightings SET person_id = ?, pinned = ? WHERE id IN ({marks}){free}",
                    (pid, int(pinned), *part))

    def _check_one_per_photo(self, cur: Any, pid: int) -> None:
        """Refuse (roll back) a correction that would give a person two faces of one photo."""
        row = self._one(cur, "SELECT min(path), count(*) FROM sightings WHERE person_id = ? GROUP BY sha256, frame "
                             "HAVING count(*) > 1 LIMIT 1", (pid,))
        if row is not None:
            raise GalleryError(f"that would give one person {row[1]} faces of the photo {row[0]}, and two faces of "
                               f"one photo are two people; move the wrong face elsewhere first (`celebface person "
                               f"move`)")

    def _drop_person(self, cur: Any, pid: int, undo: dict) -> None:
        row = self._one(cur, f"SELECT {PERSON_ROW} FROM people WHERE id = ?", (pid,))
        if row is not None:
            undo["dropped"].append(list(row))
            self._x(cur, "DELETE FROM people WHERE id = ?", (pid,))

    def _drop_if_empty(self, cur: Any, pids: Sequence[int], undo: dict) -> None:
        """Unnamed people left without faces or sightings go."""
        for pid in set(pids):
            if self._one(cur, "SELECT 1 FROM people p WHERE id = ? AND named = 0 AND NOT EXISTS (SELECT 1 FROM "
                              "sightings s WHERE s.person_id = p.id) AND NOT EXISTS (SELECT 1 FROM faces f WHERE "
                              "f.person_id = p.id)", (pid,)):
                self._drop_person(cur, pid, undo)

    def _people_change(self, action: str, name: str, who: Optional[str], work) -> Change:
        """Run `work(cur, undo) -> summary` as one change with its undo data."""
        with self._tx(write=True) as cur:
            cid = self._begin_change(cur, action, name, who)
            undo = _undo_data()
            undo["cid"] = cid
            summary = work(cur, undo)
            self._end_change(cur, cid, summary, undo)
        return self._change(cid)

    def _require_id(self, cur: Any, pid: int) -> tuple[str, bool]:
        row = self._one(cur, "SELECT name, named FROM people WHERE id = ?", (int(pid),))
        if row is None:
            raise PersonNotFound(f"no person with id {pid}; list them with `celebface person list`")
        return row[0], bool(row[1])

    # --- grouping runs ------------------------------------------------------------------------------------------
    def apply_assignment(self, result: Assignment, full: bool = False, who: Optional[str] = None) -> Change:
        """Write what a grouping run decided, as one change ('group', or 'regroup' for a full regroup).

        :param result: the run's decisions
        :param full: a full regroup (unnamed people left empty are dropped)
        """
        def work(cur: Any, undo: dict) -> str:
            old = [int(r[0]) for r in self._x(cur, "SELECT id FROM people WHERE named = 0").fetchall()]
            if result.unassign:
                self._set_person(cur, result.unassign, None, False, undo, run=True)
            by_person: dict[int, list[int]] = {}
            for sid, pid in result.to_people.items():
                by_person.setdefault(int(pid), []).append(int(sid))
            cones = self._cones_of(cur, list(by_person))
            for pid, sids in by_person.items():
                self._require_id(cur, pid)
                self._set_person(cur, sids, pid, False, undo, run=True)
            self._widen_cones(cur, cones, by_person)  # person_bounds.py
            for sids in result.new_people:
                self._set_person(cur, sids, self._new_unnamed(cur, undo), False, undo, run=True)
            self._drop_if_empty(cur, old if full else [], undo)
            return (f"{len(result.to_people)} face(s) given to known people, {len(result.new_people)} new unnamed "
                    f"people of {sum(map(len, result.new_people))} face(s)")
        return self._people_change("regroup" if full else "group", "", who, work)

    # --- the user's corrections -----------------------------------------------------------------------------------
    def name_person(self, person_id: int, name: str, who: Optional[str] = None) -> Change:
        """Name a person (an unnamed one too): a rename, the faces stay theirs.

        :param person_id: the person's id
        :param name: the new name (validated; must be free)
        """
        name = validate_name(name)

        def work(cur: Any, undo: dict) -> str:
            old, named = self._require_id(cur, person_id)
            other = self._person_id(cur, name)
            if other is not None and other != int(person_id):
                raise NameTaken(f"{name!r} is already in the gallery; merge the two people instead "
                                f"(`celebface person merge`)")
            self._refuse_look_alike(cur, name, int(person_id))
            undo["renamed"] = [int(person_id), old, int(named)]
            self._x(cur, "UPDATE people SET name = ?, named = 1, updated = ? WHERE id = ?",
                    (name, time.time(), int(person_id)))
            return f"named {old} {name}"
        return self._people_change("name", name, who, work)

    def move_faces(self, sighting_ids: Sequence[int], person_id: Optional[int], who: Optional[str] = None) -> Change:
        """Move faces to a person (None: a new unnamed person); they stay there whatever later runs find.

        :param sighting_ids: the faces (sighting ids)
        :param person_id: the person they belong to
        """
        def work(cur: Any, undo: dict) -> str:
            pid = self._new_unnamed(cur, undo) if person_id is None else int(person_id)
            name, _ = self._require_id(cur, pid)
            before = [int(r[0]) for part in [list(sighting_ids)] for r in self._x(
                cur, f"SELECT DISTINCT person_id FROM sightings WHERE person_id IS NOT NULL AND id IN "
                     f"({', '.join('?' * len(part))})", part).fetchall()]
            self._set_person(cur, sighting_ids, pid, True, undo)
            self._check_one_per_photo(cur, pid)
            self._drop_if_empty(cur, before, undo)
            return f"moved {len(sighting_ids)} face(s) to {name}"
        return self._people_change("move", "", who, work)

    def not_person(self, sighting_ids: Sequence[int], person_id: int, who: Optional[str] = None) -> Change:
        """Mark faces as not this person: they leave the person, and no later run gives them back.

        :param sighting_ids: the faces (sighting ids)
        :param person_id: the person they are not
        """
        def work(cur: Any, undo: dict) -> str:
            name, _ = self._require_id(cur, person_id)
            mine = [int(s) for s in sighting_ids if self._one(
                cur, "SELECT 1 FROM sightings WHERE id = ? AND person_id = ?", (int(s), int(person_id)))]
            self._set_person(cur, mine, None, False, undo)
            for sid in sighting_ids:
                if not self._one(cur, "SELECT 1 FROM sighting_not_person WHERE sighting_id = ? AND person_id = ?",
                                 (int(sid), int(person_id))):
                    self._x(cur, "INSERT INTO sighting_not_person (sighting_id, person_id) VALUES (?, ?)",
                            (int(sid), int(person_id)))
                    undo["not_person"].append([int(sid), int(person_id)])
            self._drop_if_empty(cur, [int(person_id)], undo)
            return f"{len(sighting_ids)} face(s) marked not {name}"
        return self._people_change("not-person", "", who, work)

    def merge_people(self, keep: int, other: int, who: Optional[str] = None) -> Change:
        """Make two people one: `other`'s faces (sightings and enrolled faces) become `keep`'s, all pinned; `other`
        goes (its name too, when `keep` is named).

        :param keep: the person who stays (its id)
        :param other: the person merged into it
        """
        def work(cur: Any, undo: dict) -> str:
            if int(keep) == int(other):
                raise GalleryError("a person cannot be merged with themselves")
            name, named = self._require_id(cur, keep)
            other_name, other_named = self._require_id(cur, other)
            if self._one(cur, "SELECT 1 FROM people_apart WHERE a = ? AND b = ?", tuple(sorted((keep, other)))):
                raise GalleryError(f"{name} and {other_name} were split apart by a user; move faces one by one "
                                   f"instead (`celebface person move`)")
            sids = [int(r[0]) for r in self._x(cur, "SELECT id FROM sightings WHERE person_id IN (?, ?)",
                                               (int(keep), int(other))).fetchall()]
            self._set_person(cur, sids, int(keep), True, undo)
            self._check_one_per_photo(cur, int(keep))
            self._move_enrolled(cur, int(other), int(keep), undo)
            self._drop_person(cur, int(other), undo)
            if other_named and not named:
                undo["renamed"] = [int(keep), name, 0]
                self._x(cur, "UPDATE people SET name = ?, named = 1 WHERE id = ?", (other_name, int(keep)))
                name = other_name
            return f"merged {other_name} into {name} ({len(sids)} face(s))"
        return self._people_change("merge", "", who, work)

    def _move_enrolled(self, cur: Any, src: int, dst: int, undo: dict) -> None:
        """Enrolled faces of `src` become `dst`'s: copies made live by this change, the originals to the trash (so
        search indexes see one removal and one addition, and undo restores them)."""
        from .sqlbase import FACE_COLS

        if self._one(cur, "SELECT 1 FROM faces WHERE person_id = ?", (src,)) is None:
            return
        cols = FACE_COLS.replace("person_id", "?").replace("origin", "?").replace("change_id", "?")
        self._x(cur, f"INSERT INTO faces ({FACE_COLS}) SELECT {cols} FROM faces WHERE person_id = ?",
                (dst, undo["cid"], undo["cid"], src))
        self._x(cur, f"INSERT INTO faces_trash (id, {FACE_COLS}, removed_change) SELECT id, {FACE_COLS}, ? FROM faces "
                     f"WHERE person_id = ?", (undo["cid"], src))
        self._x(cur, "DELETE FROM faces WHERE person_id = ?", (src,))
        undo["faces_moved"] = True

    def split_person(self, person_id: int, sighting_ids: Sequence[int], who: Optional[str] = None) -> Change:
        """Split faces off a person into a new unnamed person; both parts are pinned and kept apart for good.

        :param person_id: the person split
        :param sighting_ids: their faces that are someone else
        """
        def work(cur: Any, undo: dict) -> str:
            name, _ = self._require_id(cur, person_id)
            mine = {int(r[0]) for r in self._x(cur, "SELECT id FROM sightings WHERE person_id = ?",
                                               (int(person_id),)).fetchall()}
            moved = {int(s) for s in sighting_ids}
            if not moved or not moved < mine:
                raise GalleryError(f"give some but not all of {name}'s faces to split off (see `celebface person "
                                   f"faces`)")
            new = self._new_unnamed(cur, undo)
            self._set_person(cur, sorted(moved), new, True, undo)
            self._set_person(cur, sorted(mine - moved), int(person_id), True, undo)
            self._x(cur, "INSERT INTO people_apart (a, b) VALUES (?, ?)", tuple(sorted((int(person_id), new))))
            undo["apart"].append(sorted((int(person_id), new)))
            return f"split {len(moved)} face(s) off {name} into {UNNAMED_PREFIX}{new}"
        return self._people_change("split", "", who, work)

    def keep_apart(self, a: int, b: int, who: Optional[str] = None) -> Change:
        """Two people are not one: no suggestion pairs them again and they are never merged by a run.

        :param a: a person's id
        :param b: another person's id
        """
        def work(cur: Any, undo: dict) -> str:
            na, _ = self._require_id(cur, a)
            nb, _ = self._require_id(cur, b)
            pair = sorted((int(a), int(b)))
            if not self._one(cur, "SELECT 1 FROM people_apart WHERE a = ? AND b = ?", pair):
                self._x(cur, "INSERT INTO people_apart (a, b) VALUES (?, ?)", pair)
                undo["apart"].append(pair)
            return f"{na} and {nb} are two people"
        return self._people_change("apart", "", who, work)

    # --- undo -----------------------------------------------------------------------------------------------------
    def _undo_people(self, cur: Any, target: int, data: dict, cid: int) -> None:
        """Take back one change of this module (called by GalleryStore.undo)."""
        if data.get("renamed"):  # first: a merged person's row may take its name back
            pid, name, named = data["renamed"]
            self._x(cur, "UPDATE people SET name = ?, named = ? WHERE id = ?", (name, named, pid))
        for row in data.get("dropped", []):
            self._x(cur, f"INSERT INTO people ({PERSON_ROW}) VALUES (?, ?, ?, ?, ?, ?)", tuple(row))
        for sid, pid, pinned in reversed(data.get("sightings", [])):  # earliest state last
            self._x(cur, "UPDATE sightings SET person_id = ?, pinned = ? WHERE id = ?", (pid, pinned, sid))
        for sid, pid in data.get("not_person", []):
            self._x(cur, "DELETE FROM sighting_not_person WHERE sighting_id = ? AND person_id = ?", (sid, pid))
        for a, b in data.get("apart", []):
            self._x(cur, "DELETE FROM people_apart WHERE a = ? AND b = ?", (a, b))
        if data.get("faces_moved"):
            self._trash(cur, "origin = ?", (target,), cid)
            self._restore(cur, target, cid)
        for pid in data.get("created", []):
            self._x(cur, "DELETE FROM people WHERE id = ? AND NOT EXISTS (SELECT 1 FROM sightings WHERE person_id = ?) "
                         "AND NOT EXISTS (SELECT 1 FROM faces WHERE person_id = ?)", (pid, pid, pid))
