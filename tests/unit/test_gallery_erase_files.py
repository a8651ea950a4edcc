"""Erasing for good on SQLite, read from the files (issue 33 #15): after a purge, or after the trash's retention
erased a person's faces, neither gallery.db nor its -wal file holds any piece of their vectors; the retention
setting; and `celebface forget --purge`."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from celebface.cli import main
from celebface.errors import GalleryError
from celebface.gallery import open_gallery
from celebface.gallery.sqlite import SQLiteStore
from tests.unit.test_gallery_erase import sighting
from tests.unit.test_gallery_store import DIM, faces


def vectors(g: SQLiteStore, table: str, name: str) -> list[bytes]:
    """The stored float32 bytes of a person's faces in `faces` or `faces_trash`."""
    with g._tx(write=False) as cur:
        sql = (f"SELECT embedding FROM {table} WHERE person_id IN (SELECT id FROM people WHERE name = ?)"
               if table == "faces" else "SELECT embedding FROM faces_trash")
        return [bytes(r[0]) for r in g._x(cur, sql, (name,) if table == "faces" else ()).fetchall()]


def on_disk(db: Path) -> bytes:
    wal = db.with_name(db.name + "-wal")
    return db.read_bytes() + (wal.read_bytes() if wal.exists() else b"")


def traces(db: Path, vecs: list[bytes]) -> int:
    """How many of `vecs` leave any 32-byte piece (at four places of each) in the database's files."""
    data = on_disk(db)
    return sum(any(v[i:i + 32] in data for i in (0, 160, 320, 480)) for v in vecs)


def test_a_purged_persons_vectors_leave_no_trace_in_the_database_or_its_wal(tmp_path):
    db = tmp_path / "gallery.db"
    g = SQLiteStore(db, "dlib_face", DIM)
    reader = SQLiteStore(db, "dlib_face", DIM)  # another process's connection, idle
    g.add("Ann", faces(6, 1))
    g.add("Ann", faces(4, 2), replace=True)  # 6 faces to the trash
    g.add("Bob", faces(5, 3))
    ann = vectors(g, "faces", "Ann") + vectors(g, "faces_trash", "Ann")
    bob = vectors(g, "faces", "Bob")
    assert len(ann) == 10 and reader.people()[0].name == "Ann"
    vec = np.frombuffer(ann[0], "<f4")[None]
    g.add_sightings([sighting("elsewhere", 0, "Ann")], vec)
    g.forget("Ann")
    assert traces(db, ann) == len(ann)  # the test can fail: every vector is in the files before the purge
    g.purge("Ann")
    assert traces(db, ann) == 0
    assert traces(db, bob) == len(bob)  # what is kept is still there
    assert not db.with_name("gallery.db-wal").exists() or db.with_name("gallery.db-wal").stat().st_size == 0
    assert [p.name for p in reader.people()] == ["Bob"] and reader.count_sightings() == 0
    reader.close()
    g.close()


def test_trash_erased_by_the_retention_leaves_no_trace_either(tmp_path):
    db = tmp_path / "gallery.db"
    g = SQLiteStore(db, "dlib_face", DIM)
    g.trash_days = 0.0  # the trash is emptied at the next change
    g.add("Ann", faces(6, 1))
    ann = vectors(g, "faces", "Ann")
    g.forget("Ann")
    assert traces(db, ann) == len(ann)
    g.add("Bob", faces(2, 3))
    assert traces(db, ann) == 0
    g.close()


def test_the_retention_comes_from_the_environment_or_gallery_json(tmp_path, monkeypatch):
    from celebface.gallery.store import save_gallery_url

    monkeypatch.delenv("CELEBFACE_TRASH_DAYS", raising=False)
    assert open_gallery(tmp_path).trash_days == 30.0
    (tmp_path / "gallery.json").write_text(json.dumps({"url": None, "trash_days": 7}))
    save_gallery_url(tmp_path, None)  # other settings are kept
    assert open_gallery(tmp_path).trash_days == 7.0
    monkeypatch.setenv("CELEBFACE_TRASH_DAYS", "0.5")
    assert open_gallery(tmp_path).trash_days == 0.5
    monkeypatch.setenv("CELEBFACE_TRASH_DAYS", "never")
    assert open_gallery(tmp_path).trash_days is None
    monkeypatch.setenv("CELEBFACE_TRASH_DAYS", "-3")
    with pytest.raises(GalleryError, match="CELEBFACE_TRASH_DAYS is '-3': give a number of days"):
        open_gallery(tmp_path)


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def test_cli_forget_purge_and_undo_afterwards(tmp_path):
    from celebface.recognition.bundle import save_bundle
    from celebface.recognition.init_model import empty_bundle

    save_bundle(empty_bundle(identity="dlib"), tmp_path)  # the gallery commands refuse a folder that is not a model
    store = open_gallery(tmp_path)
    store.add("Ann", faces(3, 1), who="setup")
    store.add("Bob", faces(1, 2), who="setup")
    store.close()
    out = run("forget", tmp_path, "Ann", "--purge")
    assert out.exit_code == 0, out.output
    assert "erased Ann for good" in out.output and "undo" not in out.output.split("(change")[1]
    assert [p["name"] for p in json.loads(run("people", tmp_path, "--json").stdout)] == ["Bob"]
    out = run("undo", tmp_path)  # the purge and Ann's add are skipped: Bob's add is undone
    assert out.exit_code == 0 and "(add Bob)" in out.output and "(purge Ann) cannot be undone" in out.output
    out = run("undo", tmp_path)
    assert out.exit_code == 2 and "nothing to undo: change 3 (purge Ann) cannot be undone" in out.output
    assert json.loads(run("people", tmp_path, "--json").stdout) == []
