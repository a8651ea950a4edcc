"""Each person's archive faces inside a cone: a unit centre and the largest angle from it to any of their faces
(sightings). A grouping run then finds the known faces near a new face by reading only the people whose cone comes
within the attach distance of it, not every known face of the gallery.

Exact, not approximate: a face at angle a from a cone's centre is at least a - R from every face inside a cone of
radius R (the triangle inequality of angles on the sphere), so a person whose cone is farther than the attach
distance (plus a margin for rounding) has no face that could vote; the faces read are then scanned exactly, as before.

A cone stays true while no face joins its person: triggers drop a person's row whenever a sighting is given to them
(inserted with them, moved to them, or its vector changed). Faces leaving a person leave the cone true (only looser).
A run first computes the rows missing (refresh_person_bounds), in a write transaction, so no face joins meanwhile; a
person still without a row when the run reads (a change in between) has all of their faces read. A run's own writes
widen the cones of the people it gave faces to (same centre, the radius grown to hold the new faces), so the next
run does not read large people whole again.

How much a run is spared depends on how far apart the people's cones are: on generated people with random centres
(bench/people_scale.py) a new face comes near one cone; on real dlib vectors, whose people lie closer together than
their own spread plus the attach distance, nearly every cone comes near (bench/people_scale.md), and the run reads
about what a full scan reads.
"""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np

#: Radians added to the attach distance's angle before a cone is ruled out (float32 vectors' rounding is far less).
MARGIN = 1e-3
#: People whose faces are read in one query.
PEOPLE_PER_READ = 500

_TABLE = ("CREATE TABLE IF NOT EXISTS person_bounds (person_id BIGINT PRIMARY KEY, centre {blob} NOT NULL, "
          "radius DOUBLE PRECISION NOT NULL)")
SQLITE_BOUNDS_DDL = [
    _TABLE.format(blob="BLOB"),
    "CREATE TRIGGER IF NOT EXISTS person_bounds_in AFTER INSERT ON sightings WHEN NEW.person_id IS NOT NULL "
    "BEGIN DELETE FROM person_bounds WHERE person_id = NEW.person_id; END",
    "CREATE TRIGGER IF NOT EXISTS person_bounds_up AFTER UPDATE OF person_id, embedding ON sightings "
    "WHEN NEW.person_id IS NOT NULL BEGIN DELETE FROM person_bounds WHERE person_id = NEW.person_id; END",
]
_PG_TRIGGER = ("DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_trigger WHERE tgname = '{name}' AND tgrelid = "
               "'sightings'::regclass) THEN CREATE TRIGGER {name} AFTER {event} ON sightings FOR EACH ROW WHEN "
               "(NEW.person_id IS NOT NULL) EXECUTE FUNCTION person_bounds_drop(); END IF; END $$")
POSTGRES_BOUNDS_DDL = [
    _TABLE.format(blob="BYTEA"),
    "CREATE OR REPLACE FUNCTION person_bounds_drop() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
    "DELETE FROM person_bounds WHERE person_id = NEW.person_id; RETURN NULL; END $$",
    # made once, not replaced at every open (that would lock the table against the other writers each time)
    _PG_TRIGGER.format(name="person_bounds_in", event="INSERT"),
    _PG_TRIGGER.format(name="person_bounds_up", event="UPDATE OF person_id, embedding"),
]


def cones(people: np.ndarray, vecs: np.ndarray) -> dict[int, tuple[np.ndarray, float]]:
    """Each person's cone: (unit float32 centre, radius in radians), over their faces' unit vectors.

    :param people: (N,) person id of each face
    :param vecs: (N, D) the faces' vectors
    """
    out: dict[int, tuple[np.ndarray, float]] = {}
    order = np.argsort(people, kind="stable")
    people, vecs = people[order], vecs[order].astype(np.float64)
    starts = np.flatnonzero(np.r_[True, people[1:] != people[:-1]]) if len(people) else np.zeros(0, int)
    for s, e in zip(starts, np.r_[starts[1:], len(people)]):
        mean = vecs[s:e].sum(0)
        centre = (mean / max(np.linalg.norm(mean), 1e-12)).astype(np.float32)
        angles = np.arccos(np.clip(vecs[s:e] @ centre.astype(np.float64), -1.0, 1.0))
        out[int(people[s])] = (centre, float(angles.max()))
    return out


def near_people(queries: np.ndarray, ids: np.ndarray, centres: np.ndarray, radii: np.ndarray,
                max_distance: float) -> tuple[np.ndarray, np.ndarray]:
    """Which people (of `ids`) have a cone within `max_distance` (cosine) of which query: the only people with faces
    that close to it. Returns (query rows, person ids) pairs.

    :param queries: (Q, D) unit vectors
    :param ids: (P,) person ids; centres (P, D) unit vectors; radii (P,) radians
    :param max_distance: the cosine distance beyond which a face does not count
    """
    reach = np.arccos(np.clip(1.0 - max_distance, -1.0, 1.0)) + MARGIN
    c = centres.astype(np.float64)
    rows, people = [], []
    for start in range(0, len(queries), 256):
        angles = np.arccos(np.clip(queries[start:start + 256].astype(np.float64) @ c.T, -1.0, 1.0))
        r, j = np.nonzero(angles - radii[None, :] <= reach)
        rows.append(r + start)
        people.append(ids[j])
    if not rows:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    return np.concatenate(rows), np.concatenate(people)


def nearest_within(r: np.ndarray, ids: np.ndarray, sims: np.ndarray, k: int) -> list[int]:
    """Of (query row, face id, similarity) triples, the ids among the k most similar of each query (ties: first
    given first)."""
    if not len(r):
        return []
    order = np.lexsort((-sims, r))  # by query, nearest first
    r, ids = r[order], ids[order]
    rank = np.arange(len(r)) - np.searchsorted(r, r)  # place of each among its query's
    return sorted({int(i) for i in ids[rank < k]})


class PersonBoundsSql:
    """The cones in the gallery's database (mixed into GalleryStore; uses its transactions and vector codecs)."""

    def refresh_person_bounds(self) -> int:
        """Compute the cones of the people who have none (new people, people who gained faces); returns how many.
        People without archive faces get an empty cone (radius -1), which nothing comes near."""
        with self._tx(write=True) as cur:
            self._x(cur, "DELETE FROM person_bounds WHERE person_id NOT IN (SELECT id FROM people)")  # people gone
            missing = [int(r[0]) for r in self._x(cur, "SELECT id FROM people WHERE id NOT IN (SELECT person_id "
                                                       "FROM person_bounds)").fetchall()]
            for part in [missing[i:i + PEOPLE_PER_READ] for i in range(0, len(missing), PEOPLE_PER_READ)]:
                people, vecs = self._faces_of_people(cur, part)
                found = cones(people, vecs)
                empty = (np.zeros(self.dim, np.float32), -1.0)
                for pid in part:
                    centre, radius = found.get(pid, empty)
                    self._x(cur, "INSERT INTO person_bounds (person_id, centre, radius) VALUES (?, ?, ?)",
                            (pid, centre.astype("<f4").tobytes(), radius))
        return len(missing)

    def _cones_of(self, cur: Any, pids: Sequence[int]) -> dict[int, tuple[np.ndarray, float]]:
        """The cones the given people have now (those without one are left out)."""
        out: dict[int, tuple[np.ndarray, float]] = {}
        pids = list(pids)
        for part in [pids[i:i + PEOPLE_PER_READ] for i in range(0, len(pids), PEOPLE_PER_READ)]:
            for pid, centre, radius in self._x(cur, f"SELECT person_id, centre, radius FROM person_bounds WHERE "
                                                    f"person_id IN ({', '.join('?' * len(part))})", part).fetchall():
                out[int(pid)] = (np.frombuffer(bytes(centre), "<f4").copy(), float(radius))
        return out

    def _widen_cones(self, cur: Any, before: dict[int, tuple[np.ndarray, float]],
                     gained: dict[int, list[int]]) -> None:
        """After faces joined people in this transaction (the triggers dropped their cones): each cone that was
        there before (`before`) written again, widened to hold the new faces, so a run does not read the whole of
        a large person again. People without a cone before are left to refresh_person_bounds.

        :param before: the cones read before the writes (_cones_of)
        :param gained: person id -> the sighting ids given to them
        """
        for pid, sids in gained.items():
            if pid not in before or not sids:
                continue
            centre, radius = before[pid]
            if radius < 0:  # an empty cone: nothing to widen, the refresh computes it from the faces
                continue
            rows = self._rows_by_id(cur, sids)
            vecs = self._vecs_out([r[5] for r in rows]) if rows else np.zeros((0, self.dim), np.float32)
            angles = np.arccos(np.clip(vecs.astype(np.float64) @ centre.astype(np.float64), -1.0, 1.0))
            self._x(cur, "DELETE FROM person_bounds WHERE person_id = ?", (pid,))
            self._x(cur, "INSERT INTO person_bounds (person_id, centre, radius) VALUES (?, ?, ?)",
                    (pid, centre.astype("<f4").tobytes(), max(radius, float(angles.max(initial=-1.0)))))

    def _faces_of_people(self, cur: Any, pids: Sequence[int], with_ids: bool = False) -> tuple:
        """(person ids, vectors) of the given people's sightings, or (sighting ids, vectors) with `with_ids`,
        in sighting id order."""
        if not pids:
            return np.zeros(0, np.int64), np.zeros((0, self.dim), np.float32)
        rows = self._x(cur, f"SELECT {'id' if with_ids else 'person_id'}, embedding FROM sightings WHERE person_id "
                            f"IN ({', '.join('?' * len(pids))}) ORDER BY id", list(pids), binary=True).fetchall()
        vecs = self._vecs_out([r[1] for r in rows]) if rows else np.zeros((0, self.dim), np.float32)
        return np.array([int(r[0]) for r in rows], np.int64), vecs

    def _candidate_people(self, cur: Any, vecs: np.ndarray, max_distance: float) -> dict[int, np.ndarray]:
        """The people who may have a face within `max_distance` of some of `vecs`, each with those vectors' rows:
        those whose cone comes near, and any person without a cone (changed since the refresh) for every row."""
        rows = self._x(cur, "SELECT person_id, centre, radius FROM person_bounds WHERE radius >= 0").fetchall()
        unbound = [int(r[0]) for r in self._x(cur, "SELECT id FROM people WHERE id NOT IN (SELECT person_id FROM "
                                                   "person_bounds)").fetchall()]
        out = {pid: np.arange(len(vecs)) for pid in unbound}
        if rows:
            ids = np.array([int(r[0]) for r in rows], np.int64)
            centres = np.frombuffer(b"".join(bytes(r[1]) for r in rows), "<f4").reshape(len(rows), self.dim)
            q, people = near_people(vecs, ids, centres, np.array([float(r[2]) for r in rows]), max_distance)
            order = np.argsort(people, kind="stable")
            q, people = q[order], people[order]
            starts = np.flatnonzero(np.r_[True, people[1:] != people[:-1]]) if len(people) else []
            for s, e in zip(starts, np.r_[starts[1:], len(people)]):
                out[int(people[s])] = q[s:e]
        return out

    def _known_near(self, cur: Any, vecs: np.ndarray, k: int, max_distance: float) -> list[int]:
        """Ids of the k sightings with a person nearest to each vector among those within `max_distance` (cosine;
        farther ones never vote): an exact comparison with the faces of the people whose cones come near it."""
        from .sightings import SCAN_ROWS

        near = self._candidate_people(cur, vecs, max_distance)
        people = sorted(near)
        rows_, ids_, sims_ = [], [], []
        step = max(1, SCAN_ROWS // 100)
        for part in [people[i:i + step] for i in range(0, len(people), step)]:
            ids, known = self._faces_of_people(cur, part, with_ids=True)
            queries = np.unique(np.concatenate([near[p] for p in part]))
            sims = vecs[queries] @ known.T
            r, c = np.nonzero(sims >= 1.0 - max_distance)
            rows_.append(queries[r])
            ids_.append(ids[c])
            sims_.append(sims[r, c])
        if not rows_:
            return []
        r, ids, sims = np.concatenate(rows_), np.concatenate(ids_), np.concatenate(sims_)
        order = np.argsort(ids, kind="stable")  # ties between equal similarities: lower sighting id first, as a scan
        return nearest_within(r[order], ids[order], sims[order], k)
