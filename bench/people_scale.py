"""Attaching 1,000 new faces to a gallery of many sightings: one incremental grouping run (gallery/grouping.py),
timed, on SQLite and on PostgreSQL (pgserver, a temp dir). Writes bench/people_scale.md.

The bulk is generated as bench/gallery.py generates its vectors: people of 100 faces each, a face = the person's
random unit centre + Gaussian noise (sd 0.02 a value: two faces of one person at cosine distance ~0.05, as dlib's
are), given to their people directly in SQL as earlier runs would have. The 1,000 new faces: 900 of known people,
100 of 20 new people (5 each).

The timed run starts with the people's cones built (gallery/person_bounds.py: what the earlier runs would have
left; the build is timed apart). --real counts how many people's cones come near a new face on the real dlib vectors
of the sample sets (bench/people_faces.py's cache).

Run: OMP_WAIT_POLICY=PASSIVE OMP_NUM_THREADS=1 PYTHONPATH=. python bench/people_scale.py --sqlite 100000 1000000 --real
     OMP_WAIT_POLICY=PASSIVE OMP_NUM_THREADS=1 PYTHONPATH=. python bench/people_scale.py --sqlite --pg 100000 1000000
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from celebface.gallery.grouping import group_gallery
from celebface.gallery.sightings import Sighting

DIM = 128
PER_PERSON = 100
NOISE = 0.02
OUT = Path(__file__).resolve().parent / "people_scale.md"


def faces_of(centres: np.ndarray, people: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    v = centres[people] + rng.normal(0, NOISE, (len(people), DIM)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def load_bulk(store, n: int, centres: np.ndarray, rng: np.random.Generator) -> None:
    """n sightings of n / PER_PERSON people, each given to its person (people rows made in SQL). On PostgreSQL the
    rows are COPYed (binary) and the HNSW index built once, after the people are given (postgres_load.py's pieces:
    add_sightings_many would build it after the COPY, and the bulk UPDATE would need it built again)."""
    def chunks():
        for start in range(0, n, 50_000):
            idx = np.arange(start, min(n, start + 50_000))
            rows = [Sighting(f"bulk{i}", f"bulk/{i}.jpg", None, 0, None, None, None, None) for i in idx]
            yield rows, faces_of(centres, idx // PER_PERSON, rng)
    if store.kind != "postgresql":
        store.add_sightings_many(chunks(), total=n)
        with store._tx(write=True) as cur:
            give_people(store, cur, n)
        return
    from celebface.gallery.postgres_load import build_index, copy_rows, insert_staged, stage_table

    with store._tx(write=True) as cur:
        cur.execute("DROP INDEX IF EXISTS sightings_hnsw")
        stage_table(cur)
        for rows, vecs in chunks():
            copy_rows(cur, rows, vecs, time.time(), DIM, store.backbone)
            insert_staged(cur)
        give_people(store, cur, n)
        cur.execute("SELECT setval(pg_get_serial_sequence('people', 'id'), (SELECT max(id) FROM people))")
        build_index(cur)
        cur.execute("ANALYZE sightings")


def give_people(store, cur, n: int) -> None:
    """The people rows, and each bulk sighting given to its person, as earlier grouping runs would have."""
    for p in range(n // PER_PERSON):
        store._x(cur, "INSERT INTO people (id, name, created, updated, metadata, named) VALUES (?, ?, 0, 0, '{}', 0)",
                 (p + 1, f"unnamed/{p + 1}"))
    store._x(cur, f"UPDATE sightings SET person_id = (id - 1) / {PER_PERSON} + 1")


def one_run(store, n: int, rng: np.random.Generator) -> str:
    people = n // PER_PERSON
    centres = rng.normal(0, 1, (people + 20, DIM)).astype(np.float32)
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    t = time.perf_counter()
    load_bulk(store, n, centres, rng)
    load_s = time.perf_counter() - t
    t = time.perf_counter()
    store.refresh_person_bounds()  # what the earlier runs would have left (once per gallery, then kept up)
    cones_s = time.perf_counter() - t
    known = rng.integers(0, people, 900)
    new = np.repeat(np.arange(people, people + 20), 5)
    who = np.concatenate([known, new])
    rows = [Sighting(f"new{i}", f"new/{i}.jpg", None, 0, None, None, None, None) for i in range(len(who))]
    store.add_sightings(rows, faces_of(centres, who, rng))
    import sklearn.neighbors  # noqa: F401  (imported once per process, 1-5 s here: not the run's time)

    t = time.perf_counter()
    change = group_gallery(store, who="bench")
    run_s = time.perf_counter() - t
    got = {}
    with store._tx(write=False) as cur:
        for sid, pid in store._x(cur, "SELECT id, person_id FROM sightings WHERE substr(sha256, 1, 3) = 'new' ORDER BY id"
                                 ).fetchall():
            got[int(sid)] = pid
    pids = list(got.values())
    ok = sum(1 for p, w in zip(pids[:900], known) if p == int(w) + 1)
    return (f"| {store.kind} | {n:,} | {load_s:.0f} | {cones_s:.1f} | {run_s:.1f} | {ok} of 900 | {change.summary} |")


def real_cones(distance: float = 0.08) -> str:
    """How many people's cones come near a new face on real dlib vectors: the main faces of glint12, sports5 and
    celeb5 (bench/people_faces.py's cache), 80% of each person's faces known, the other 20% new."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from people_faces import load

    from celebface.gallery.person_bounds import cones, near_people

    f = load()
    main = f.face == 0
    people = np.unique(f.person[main], return_inverse=True)[1]
    vecs = f.vecs[main]
    new = np.random.default_rng(0).random(len(vecs)) < 0.2
    found = cones(people[~new], vecs[~new])
    ids = np.array(sorted(found))
    _, near = near_people(vecs[new], ids, np.stack([found[i][0] for i in ids]),
                          np.array([found[i][1] for i in ids]), distance)
    return (f"On real dlib vectors ({int(new.sum())} new main faces of glint12, sports5 and celeb5 against the other "
            f"{int((~new).sum())}, {len(ids)} people), a new face comes near {len(near) / new.sum():.1f} of "
            f"{len(ids)} people's cones at the attach distance {distance}: there the cones spare almost nothing.")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sqlite", type=int, nargs="*", default=[100_000])
    ap.add_argument("--pg", type=int, nargs="*", default=[])
    ap.add_argument("--real", action="store_true", help="also count the cones near real faces (bench/people_faces.py)")
    args = ap.parse_args()
    lines = ["# Attaching 1,000 new faces to a large gallery (bench/people_scale.py)", "",
             "One incremental grouping run after 1,000 new faces (900 of known people, 100 of 20 new people) arrive "
             "in a gallery of generated sightings, all grouped already. 2 shared CPU cores; scikit-learn imported before the "
             "timed run (a process pays that once, 1-5 s here).", "",
             "| database | sightings | load (s) | people's cones built (s) | grouping run (s) | new faces of known "
             "people attached to them | what the run did |", "|---|---|---|---|---|---|---|"]
    for n in args.sqlite:
        from celebface.gallery.sqlite import SQLiteStore

        store = SQLiteStore(Path(tempfile.mkdtemp()) / "gallery.db", "dlib_face", DIM)
        lines.append(one_run(store, n, np.random.default_rng(0)))
        print(lines[-1], flush=True)
        store.close()
    for n in args.pg:
        import pgserver

        from celebface.gallery.postgres import PostgresStore

        server = pgserver.get_server(Path(tempfile.mkdtemp()), cleanup_mode="stop")
        try:
            server.psql("CREATE DATABASE scale;")
            store = PostgresStore(server.get_uri("scale"), "dlib_face", DIM)
            lines.append(one_run(store, n, np.random.default_rng(0)))
            print(lines[-1], flush=True)
            store.close()
        finally:
            server.cleanup()
    if args.real:
        lines += ["", real_cones()]
    OUT.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
