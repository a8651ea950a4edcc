"""People in the gallery, grouped from real faces (dlib vectors of glint12 crops): incremental grouping, the
one-photo rule, corrections that later runs respect, naming as a rename, undo, suggestions, and migration of a
schema-1 gallery. tests/integration/test_gallery_postgres.py runs them again on PostgreSQL."""
from __future__ import annotations

import sqlite3
from functools import lru_cache
from pathlib import Path

import numpy as np
import pytest

from celebface.errors import GalleryError
from celebface.gallery.grouping import GroupingSettings, group_gallery
from celebface.gallery.sightings import Sighting
from celebface.gallery.suggest import suggest_for

GLINT = Path(__file__).resolve().parents[2].parent / "shared" / "datasets" / "glint12"
PER_PERSON = 8


@lru_cache(maxsize=2)
def _glint_vectors(identity: str = "dlib") -> tuple[np.ndarray, np.ndarray]:
    """`identity`'s vectors of PER_PERSON glint12 crops of each of 3 people (padded as crop_face pads), and their
    people."""
    from PIL import Image

    from celebface.faces.identity import identity_embedder

    crops, labels = [], []
    for k, person in enumerate(sorted(p for p in GLINT.iterdir() if p.is_dir())[:3]):
        for f in sorted(person.iterdir())[:PER_PERSON]:
            crop = Image.new("RGB", (224, 224), (124, 124, 124))
            crop.paste(Image.open(f).convert("RGB").resize((160, 160)), (32, 32))
            crops.append(crop)
            labels.append(k)
    return identity_embedder(identity).embed(crops).astype(np.float32), np.array(labels)


@pytest.fixture
def glint_faces():
    if not GLINT.is_dir():
        pytest.skip("sample data not found")
    return _glint_vectors()


@pytest.fixture
def open_gallery(tmp_path):
    from celebface.gallery.sqlite import SQLiteStore

    opened = []

    def make(backbone: str = "dlib_face", dim: int = 128):
        store = SQLiteStore(tmp_path / "gallery.db", backbone, dim)
        opened.append(store)
        return store

    yield make
    for s in opened:
        s.close()


def add(store, vecs: np.ndarray, idx, photo=None) -> list[int]:
    """Sightings of faces `idx` (each its own photo, or all of `photo`); returns their sighting ids."""
    rows = [Sighting(photo or f"photo{i}", f"p{i}.jpg", None, k if photo else 0, None, None, None, None)
            for k, i in enumerate(idx)]
    store.add_sightings(rows, vecs[list(idx)])
    ids = {(s.sha256, s.face): s.id for part, _ in store.iter_sightings() for s in part}
    return [ids[(r.sha256, r.face)] for r in rows]


def person_of(store) -> dict[int, int]:
    g = store.gallery_faces()
    return dict(zip(g.ids.tolist(), g.person.tolist()))


def test_new_faces_become_unnamed_people_and_later_ones_join_them(open_gallery, glint_faces):
    vecs, labels = glint_faces
    g = open_gallery()
    first = {k: add(g, vecs, np.nonzero(labels == k)[0][:5]) for k in (0, 1)}
    change = group_gallery(g)
    people = person_of(g)
    assert change.action == "group"
    for k in (0, 1):  # each true person is one unnamed person, alone
        assert len({people[s] for s in first[k]}) == 1 and people[first[k][0]] >= 0
    assert people[first[0][0]] != people[first[1][0]]
    assert all(not p.named for p in g.people_overview())
    later = add(g, vecs, [int(np.nonzero(labels == 0)[0][5])])
    group_gallery(g)
    again = person_of(g)
    assert again[later[0]] == people[first[0][0]]  # attached to the person found before
    assert {again[s] for s in first[0] + first[1]} == {people[first[0][0]], people[first[1][0]]}  # ids kept
    assert len(g.people_overview()) == 2


def test_too_few_alike_faces_wait_for_more(open_gallery, glint_faces):
    vecs, labels = glint_faces
    g = open_gallery()
    two = add(g, vecs, np.nonzero(labels == 2)[0][:2])
    group_gallery(g)
    assert set(person_of(g).values()) == {-1} and g.people_overview() == []
    add(g, vecs, np.nonzero(labels == 2)[0][2:4])
    group_gallery(g)
    assert len({person_of(g)[s] for s in two}) == 1 and person_of(g)[two[0]] >= 0


def test_two_faces_of_one_photo_are_never_one_person(open_gallery, glint_faces):
    vecs, labels = glint_faces
    g = open_gallery()
    mine = np.nonzero(labels == 0)[0]
    alone = add(g, vecs, mine[:4])
    same_photo = add(g, vecs, mine[4:6], photo="group-photo")  # the same man twice in one photo (a mirror)
    for full in (False, True):
        group_gallery(g, full=full)
        people = person_of(g)
        assert people[same_photo[0]] != people[same_photo[1]] or people[same_photo[0]] == -1
    with pytest.raises(GalleryError, match="two faces of one photo"):
        g.move_faces(same_photo, person_of(g)[alone[0]])


def test_naming_an_unnamed_person_is_a_rename(open_gallery, glint_faces):
    vecs, labels = glint_faces
    g = open_gallery()
    sids = add(g, vecs, np.nonzero(labels == 1)[0][:5])
    group_gallery(g)
    pid = person_of(g)[sids[0]]
    g.name_person(pid, "Ann")
    ann = g.person("Ann")
    assert (ann.id, ann.named, ann.sightings, ann.faces) == (pid, True, 5, 0)
    assert g.count_faces() == 0  # no copies
    assert g.person(str(pid)).name == "Ann"
    g.move_faces(sids[:1], None)
    with pytest.raises(GalleryError, match="already in the gallery"):
        g.name_person(person_of(g)[sids[0]], "Ann")


def test_corrections_hold_through_later_runs_and_a_full_regroup(open_gallery, glint_faces):
    vecs, labels = glint_faces
    g = open_gallery()
    s = {k: add(g, vecs, np.nonzero(labels == k)[0][:6]) for k in range(3)}
    group_gallery(g)
    p = {k: person_of(g)[s[k][0]] for k in range(3)}
    g.move_faces([s[0][0]], p[1])  # the user says this face of 0 is 1's
    g.not_person([s[0][1]], p[0])  # and this one is not 0
    g.split_person(p[2], s[2][:3])  # 2's first three faces are someone else
    split_off = person_of(g)[s[2][0]]
    with pytest.raises(GalleryError, match="split apart"):
        g.merge_people(p[2], split_off)
    add(g, vecs, [int(i) for k in range(3) for i in np.nonzero(labels == k)[0][6:]])
    for full in (False, True):
        group_gallery(g, full=full)
        now = person_of(g)
        assert now[s[0][0]] == p[1]
        assert now[s[0][1]] != p[0]
        assert {now[x] for x in s[2][:3]} == {split_off} and {now[x] for x in s[2][3:]} == {p[2]}


def test_a_merge_holds_and_every_change_is_undone_in_turn(open_gallery, glint_faces):
    vecs, labels = glint_faces
    g = open_gallery()
    s = add(g, vecs, np.nonzero(labels == 0)[0][:6])
    group_gallery(g)
    pid = person_of(g)[s[0]]
    g.move_faces(s[3:], None)  # the user splits by hand: a new unnamed person
    other = person_of(g)[s[3]]
    assert other not in (pid, -1)
    g.name_person(other, "Bob")
    g.merge_people(pid, other)  # then sees they are one: Bob's name goes to the person kept
    assert set(person_of(g)[x] for x in s) == {pid} and g.person("Bob").id == pid
    group_gallery(g, full=True)
    assert set(person_of(g)[x] for x in s) == {pid}
    actions = [g.undo() for _ in range(4)]  # regroup, merge, name, move
    assert [a.summary.split("(")[1].split()[0].strip(")") for a in actions] == ["regroup", "merge", "name", "move"]
    assert set(person_of(g)[x] for x in s) == {pid} and not g.person(str(pid)).named
    assert [p.id for p in g.people_overview()] == [pid]


@pytest.mark.parametrize("identity", ["dlib", "dlib+faceres"])
def test_suggestions_find_one_person_split_in_two_and_a_stray_face(open_gallery, glint_faces, identity):
    from celebface.faces.identity import get_identity, identity_ready

    if identity_ready(identity):
        pytest.skip(identity_ready(identity))
    spec = get_identity(identity)
    vecs, labels = _glint_vectors(identity)
    g = open_gallery(spec.recorded_as, spec.dim)
    a = add(g, vecs, np.nonzero(labels == 0)[0][:8])
    b = add(g, vecs, np.nonzero(labels == 1)[0][:8])
    c = add(g, vecs, np.nonzero(labels == 2)[0][:8])
    from celebface.gallery.people import Assignment

    g.apply_assignment(Assignment({}, [a[:4], a[4:], b[1:] + c[:1], c[1:] + b[:1]], []))
    p = person_of(g)
    found = suggest_for(g)  # at the strictness of the gallery's identity
    assert (min(p[a[0]], p[a[4]]), max(p[a[0]], p[a[4]])) == (found.same_person[0].a, found.same_person[0].b)
    stray = {m.sighting: m.better for m in found.misassigned}
    assert stray.get(c[0]) == p[c[1]] and stray.get(b[0]) == p[b[1]]
    assert [n for _, n in found.to_name] == [8, 8, 4, 4]
    g.keep_apart(p[a[0]], p[a[4]])
    assert all({x.a, x.b} != {p[a[0]], p[a[4]]} for x in suggest_for(g).same_person)


def test_forget_frees_the_faces_and_undo_gives_them_back(open_gallery, glint_faces):
    vecs, labels = glint_faces
    g = open_gallery()
    s = add(g, vecs, np.nonzero(labels == 0)[0][:4])
    group_gallery(g)
    pid = person_of(g)[s[0]]
    g.name_person(pid, "Ann")
    g.forget("Ann")
    assert set(person_of(g).values()) == {-1}
    g.undo()
    assert set(person_of(g).values()) == {pid} and g.person("Ann").named


V1_DDL = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT);
CREATE TABLE people (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL UNIQUE, created REAL NOT NULL,
    updated REAL NOT NULL, metadata TEXT);
CREATE TABLE sightings (id INTEGER PRIMARY KEY AUTOINCREMENT, sha256 TEXT NOT NULL, path TEXT NOT NULL,
    frame REAL NOT NULL, face INTEGER NOT NULL, box TEXT, quality REAL, name TEXT, score REAL,
    embedding BLOB NOT NULL, added REAL NOT NULL, UNIQUE (sha256, frame, face));
INSERT INTO meta VALUES ('schema_version', '1'), ('backbone', 'dlib_face'), ('dim', '128'), ('gallery_id', 'x');
INSERT INTO people (name, created, updated, metadata) VALUES ('Ann', 1, 1, '{}');
"""


def test_a_schema_1_gallery_is_migrated_with_its_people_and_sightings(tmp_path, glint_faces):
    from celebface.gallery.sqlite import SQLiteStore

    vecs, labels = glint_faces
    path = tmp_path / "gallery.db"
    with sqlite3.connect(path) as conn:
        conn.executescript(V1_DDL)
        for i in np.nonzero(labels == 0)[0][:4]:
            conn.execute("INSERT INTO sightings (sha256, path, frame, face, embedding, added) VALUES (?, ?, -1, 0, ?, 1)",
                         (f"photo{i}", f"p{i}.jpg", vecs[i].astype("<f4").tobytes()))
    g = SQLiteStore(path, "dlib_face", 128)
    assert [(p.name, p.named) for p in g.people_overview()] == [("Ann", True)]
    group_gallery(g)
    assert len({p for p in person_of(g).values()}) == 1 and g.people_overview()[1].sightings == 4
    g.close()
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()[0] == "2"


def test_purging_a_named_person_erases_the_archive_faces_grouped_into_them(open_gallery, glint_faces):
    vecs, labels = glint_faces
    g = open_gallery()
    ann = add(g, vecs, np.nonzero(labels == 0)[0][:5])
    add(g, vecs, np.nonzero(labels == 1)[0][:5])
    group_gallery(g)
    assert [p.name for p in g.people()] == []  # the enrolment list shows named people only
    g.name_person(person_of(g)[ann[0]], "Ann")
    assert [p.name for p in g.people()] == ["Ann"]
    g.forget("Ann", purge=True)
    assert g.count_sightings() == 5 and not set(ann) & set(person_of(g))


def test_an_incremental_run_reads_only_what_it_needs_and_decides_the_same(open_gallery, glint_faces):
    from celebface.gallery.grouping import ATTACH_K, GroupingSettings, group_faces

    vecs, labels = glint_faces
    g = open_gallery()
    add(g, vecs, [int(i) for k in range(3) for i in np.nonzero(labels == k)[0][:5]])
    group_gallery(g)
    new = add(g, vecs, [int(np.nonzero(labels == 1)[0][6])])
    part, whole = g.grouping_faces(ATTACH_K, GroupingSettings().attach_distance), g.gallery_faces()
    assert set(new) <= set(part.ids.tolist()) and len(part.ids) < len(whole.ids)
    assert group_faces(part) == group_faces(whole)
    assert len(group_faces(part).to_people) == len(new)  # each new face joins its person


def _exact_near(g, vecs: np.ndarray, k: int, max_distance: float) -> list[int]:
    """The k known faces nearest to each vector within max_distance, by comparing with every known face."""
    whole = g.gallery_faces()
    known = whole.person >= 0
    sims = vecs @ whole.vecs[known].T
    ids = whole.ids[known]
    out = set()
    for row in sims:
        near = np.nonzero(row >= 1.0 - max_distance)[0]
        out.update(int(ids[j]) for j in near[np.argsort(-row[near], kind="stable")][:k])
    return sorted(out)


def _cones_hold_their_faces(g) -> int:
    """Checks every cone in the table holds all of its person's archive faces; returns how many cones there are."""
    whole = g.gallery_faces()
    with g._tx(write=False) as cur:
        rows = g._x(cur, "SELECT person_id, centre, radius FROM person_bounds WHERE radius >= 0").fetchall()
    for pid, centre, radius in rows:
        mine = whole.vecs[whole.person == int(pid)].astype(np.float64)
        angles = np.arccos(np.clip(mine @ np.frombuffer(bytes(centre), "<f4").astype(np.float64), -1, 1))
        assert len(mine) and angles.max() <= radius + 1e-9
    return len(rows)


def test_people_cones_find_exactly_the_known_faces_a_full_scan_finds(open_gallery, glint_faces):
    from celebface.gallery.grouping import ATTACH_K

    vecs, labels = glint_faces
    g = open_gallery()
    add(g, vecs, [int(i) for k in range(3) for i in np.nonzero(labels == k)[0][:5]])
    group_gallery(g)
    add(g, vecs, [int(np.nonzero(labels == k)[0][5]) for k in range(3)])
    assert group_gallery(g).summary.startswith("3 face(s) given to known people")
    assert _cones_hold_their_faces(g) == 3  # built before the run, dropped by its writes, widened by it
    queries = vecs[[int(np.nonzero(labels == k)[0][6]) for k in range(3)]]

    def near(distance: float) -> list[int]:
        with g._tx(write=False) as cur:
            return g._known_near(cur, queries, ATTACH_K, distance)

    for distance in (0.08, 0.2, 0.6):
        assert near(distance) == _exact_near(g, queries, ATTACH_K, distance)
    people = sorted({p for p in person_of(g).values() if p >= 0})
    stray = next(s for s, p in person_of(g).items() if p == people[1])
    g.move_faces([stray], people[0])  # a face joins people[0]: its cone is dropped, and read whole until rebuilt
    with g._tx(write=False) as cur:
        have = {int(r[0]) for r in g._x(cur, "SELECT person_id FROM person_bounds").fetchall()}
    assert people[0] not in have and people[1] in have
    assert near(0.2) == _exact_near(g, queries, ATTACH_K, 0.2)
    assert g.refresh_person_bounds() == 1 and _cones_hold_their_faces(g) == 3
    assert near(0.2) == _exact_near(g, queries, ATTACH_K, 0.2)


def test_who_is_names_the_person_a_run_would_give_a_face_to_and_nobody_for_a_stranger(open_gallery, glint_faces):
    from celebface.gallery.grouping import who_is

    vecs, labels = glint_faces
    g = open_gallery()
    add(g, vecs, [int(i) for k in range(2) for i in np.nonzero(labels == k)[0][:5]])
    group_gallery(g)
    mine = person_of(g)
    before = g.history()
    queries = [int(np.nonzero(labels == k)[0][6]) for k in range(3)]
    found = who_is(g, vecs[queries])
    for k in range(2):
        their = {mine[s] for s, lab in zip(sorted(mine), [0] * 5 + [1] * 5) if lab == k}
        assert found[k] is not None and {found[k].person_id} == their and 0.9 < found[k].similarity <= 1.0
    assert found[2] is None  # the third person is in no photo of the archive
    assert g.history() == before  # a question, not a change


def test_each_identity_groups_at_its_measured_strictness() -> None:
    from celebface.faces.identity_stats import same_strictness
    from celebface.gallery.grouping import STRICTNESS, settings_for

    assert settings_for("dlib") == GroupingSettings()  # dlib's own distances, as measured
    fused = settings_for("dlib+faceres")
    attach, cluster = STRICTNESS["dlib+faceres"]
    assert fused.attach_distance == same_strictness(attach, "dlib", "dlib+faceres")
    assert fused.cluster_distance == same_strictness(cluster, "dlib", "dlib+faceres")
    # the fused vectors spread wider: dlib's distances mean more of them at the same false-accept rate
    assert fused.cluster_distance > cluster and fused.attach_distance > attach
