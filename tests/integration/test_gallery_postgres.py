"""The gallery store tests again on a real PostgreSQL 16 + pgvector (from the pgserver package, in a temp dir),
plus what only a server can do: going away mid-run and coming back."""
from __future__ import annotations

import itertools

import numpy as np
import pytest

from celebface.errors import GalleryError
from tests.unit.test_gallery_erase import *  # noqa: F401,F403  (purge and retention, with open_gallery below)
from tests.unit.test_gallery_people import *  # noqa: F401,F403  (people and grouping, with open_gallery below)
from tests.unit.test_gallery_store import *  # noqa: F401,F403  (the same tests, with open_gallery below)
from tests.unit.test_gallery_store import faces

pgserver = pytest.importorskip("pgserver")
_db_numbers = itertools.count()


@pytest.fixture(scope="module")
def postgres(tmp_path_factory):
    server = pgserver.get_server(tmp_path_factory.mktemp("pg"), cleanup_mode="stop")
    yield server
    server.cleanup()


def _new_database(server) -> str:
    name = f"gallery_{next(_db_numbers)}"
    server.psql(f"CREATE DATABASE {name};")
    return server.get_uri(name)


@pytest.fixture
def open_gallery(postgres):
    from celebface.gallery.postgres import PostgresStore

    url = _new_database(postgres)
    opened = []

    def make(backbone: str = "dlib_face", dim: int = 128):
        store = PostgresStore(url, backbone, dim)
        opened.append(store)
        return store

    yield make
    for s in opened:
        s.close()


def test_pgvector_search_finds_the_nearest_person(open_gallery):
    g = open_gallery()
    rng = np.random.default_rng(0)
    centres = {name: rng.normal(size=128) for name in ("Ann", "Bob", "Cy")}
    for i, (name, c) in enumerate(centres.items()):
        g.add(name, faces(5, i + 10, centre=c))
    names = g.names()
    q = np.stack([c / np.linalg.norm(c) for c in centres.values()]).astype(np.float32)
    found = g.search(q, 3)
    people, sims = found.people, found.sims
    assert [names[int(p)] for p in people[:, 0]] == list(centres)
    assert (sims[:, 0] > 0.9).all()


def test_the_server_going_away_is_a_clear_error_and_the_store_reconnects(postgres):
    from celebface.gallery.postgres import PostgresStore

    url = _new_database(postgres)
    g = PostgresStore(url, "dlib_face", 128)
    g.add("Ann", faces(1))
    from psycopg.conninfo import conninfo_to_dict

    dbname = conninfo_to_dict(url)["dbname"]
    postgres.psql(f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{dbname}' "
                  f"AND pid <> pg_backend_pid();")
    with pytest.raises(GalleryError, match="went away"):
        g.add("Bob", faces(1, 2))
    g.add("Bob", faces(1, 2))  # reconnected
    assert sorted(p.name for p in g.people()) == ["Ann", "Bob"]
    g.close()


def test_an_unreachable_server_is_a_clear_error():
    from celebface.gallery.postgres import PostgresStore

    with pytest.raises(GalleryError, match="cannot reach the PostgreSQL gallery") as info:
        PostgresStore("postgresql://celeb:secret@127.0.0.1:1/none", "dlib_face", 128)
    assert "secret" not in str(info.value)


def test_the_matcher_searches_with_pgvector_and_sees_other_writers(open_gallery):
    from celebface.gallery.matcher import GalleryMatcher

    g, other = open_gallery(), open_gallery()
    rng = np.random.default_rng(3)
    centres = {name: rng.normal(size=128) for name in ("Ann", "Bob")}
    g.add("Ann", faces(4, 20, centre=centres["Ann"]))
    m = GalleryMatcher(g, refresh_s=0.0)
    assert m.mode == "server"
    probe = (centres["Bob"] / np.linalg.norm(centres["Bob"]))[None].astype(np.float32)
    assert m.match(probe)[0].name == "unknown"
    other.add("Bob", faces(4, 21, centre=centres["Bob"]))
    assert m.match(probe)[0].name == "Bob" and m.classes == ["Ann", "Bob"]


def _index_names(g) -> list[str]:
    with g._tx(write=False) as cur:
        cur.execute("SELECT indexname FROM pg_indexes WHERE tablename = 'sightings'")
        return sorted(r[0] for r in cur.fetchall())


def test_a_large_load_rebuilds_the_index_and_a_failed_one_changes_nothing(open_gallery, monkeypatch):
    from celebface.gallery import postgres_load
    from tests.unit.test_gallery_store import _sightings

    monkeypatch.setattr(postgres_load, "REBUILD_MIN", 1)
    g = open_gallery()
    rows, vecs = _sightings(40, 5)
    with g._tx(write=False) as cur:  # an empty table: any load rebuilds
        assert postgres_load.should_rebuild(cur, 40) and postgres_load.should_rebuild(cur, 9)
    assert g.add_sightings_many([(rows[:20], vecs[:20]), (rows[20:], vecs[20:])], total=40) == 40
    assert "sightings_hnsw" in _index_names(g)  # dropped for the load, built again after it
    with g._tx(write=False) as cur:  # the search is served by the index
        cur.execute("SET LOCAL enable_seqscan = off")
        cur.execute("EXPLAIN SELECT id FROM sightings ORDER BY embedding <=> %s LIMIT 3", (g._vec_in(vecs[0]),))
        assert "sightings_hnsw" in " ".join(r[0] for r in cur.fetchall())
    assert g.search_sightings(vecs[33], k=1)[0].sighting.path == rows[33].path
    more, mvecs = _sightings(10, 6)
    broken = [(more[:5], mvecs[:5]), (more[5:], mvecs[5:7])]  # the second chunk lacks embeddings: the load fails
    with g._tx(write=False) as cur:  # 40 faces now: 20 more rebuild (after the index is dropped), 9 would not
        assert postgres_load.should_rebuild(cur, 20) and not postgres_load.should_rebuild(cur, 9)
    with pytest.raises(ValueError):
        g.add_sightings_many(broken, total=20)
    assert g.count_sightings() == 40 and "sightings_hnsw" in _index_names(g)


def test_a_purge_leaves_no_row_and_vacuums_the_tables(open_gallery):
    from tests.unit.test_gallery_erase import sighting

    g = open_gallery()
    g.add("Ann", faces(3, 1))
    g.add("Ann", faces(2, 2), replace=True)
    g.add("Bob", faces(2, 3))
    vecs = np.stack([f.embedding / np.linalg.norm(f.embedding) for f in faces(2, 4)]).astype(np.float32)
    g.add_sightings([sighting("x", 0, "Ann"), sighting("x", 1, "Bob")], vecs)
    with g._tx(write=False) as cur:
        cur.execute("SELECT relname FROM pg_stat_user_tables WHERE last_vacuum IS NOT NULL")
        assert cur.fetchall() == []  # nothing vacuumed yet: the check below can fail
    g.forget("Ann", purge=True)
    with g._tx(write=False) as cur:
        cur.execute("SELECT (SELECT count(*) FROM faces f WHERE NOT EXISTS (SELECT 1 FROM people p WHERE "
                    "p.id = f.person_id)), (SELECT count(*) FROM faces_trash), (SELECT count(*) FROM sightings "
                    "WHERE name = 'Ann'), (SELECT count(*) FROM people WHERE name = 'Ann')")
        assert cur.fetchone() == (0, 0, 0, 0)
        cur.execute("SELECT relname FROM pg_stat_user_tables WHERE last_vacuum IS NOT NULL")
        vacuumed = {r[0] for r in cur.fetchall()}
    assert {"faces", "faces_trash", "people", "sightings", "history"} <= vacuumed
    assert g.count_faces() == 2 and g.count_sightings() == 1
