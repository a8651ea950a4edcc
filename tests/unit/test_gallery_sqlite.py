"""SQLite-only failures: a damaged file, a newer schema, a locked database, two processes enrolling at once."""
from __future__ import annotations

import sqlite3
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from celebface.errors import GalleryError
from celebface.gallery.records import NewFace
from celebface.gallery.sqlite import SQLiteStore


def test_a_damaged_file_is_a_clear_error(tmp_path):
    path = tmp_path / "gallery.db"
    path.write_bytes(b"this is not a database" * 100)
    with pytest.raises(GalleryError, match="damaged"):
        SQLiteStore(path, "dlib_face", 128)


def test_a_newer_schema_is_refused(tmp_path):
    path = tmp_path / "gallery.db"
    SQLiteStore(path, "dlib_face", 128).close()
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE meta SET value = '99' WHERE key = 'schema_version'")
    with pytest.raises(GalleryError, match="newer than this celebface"):
        SQLiteStore(path, "dlib_face", 128)


def test_a_locked_gallery_is_a_clear_error_and_nothing_is_written(tmp_path):
    path = tmp_path / "gallery.db"
    store = SQLiteStore(path, "dlib_face", 128, timeout=0.2)
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        with pytest.raises(GalleryError, match="locked"):
            store.add("Ann", [NewFace(np.ones(128, np.float32))])
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert store.people() == []
    store.add("Ann", [NewFace(np.ones(128, np.float32))])
    assert [p.faces for p in store.people()] == [1]


def test_two_processes_enrolling_at_once_lose_nothing(tmp_path):
    path = tmp_path / "gallery.db"
    SQLiteStore(path, "dlib_face", 128).close()
    script = textwrap.dedent(f"""
        import sys, numpy as np
        from celebface.gallery.sqlite import SQLiteStore
        from celebface.gallery.records import NewFace
        s = SQLiteStore({str(path)!r}, "dlib_face", 128, timeout=30)
        for i in range(15):
            s.add(sys.argv[1] + str(i % 3), [NewFace(np.random.default_rng(i).normal(size=128).astype("f4"))])
    """)
    procs = [subprocess.Popen([sys.executable, "-c", script, who]) for who in ("A", "B")]
    assert [p.wait(timeout=120) for p in procs] == [0, 0]
    store = SQLiteStore(path, "dlib_face", 128)
    assert sum(p.faces for p in store.people()) == 30
    assert len(store.people()) == 6 and len(store.history()) == 30


def test_the_gallery_url_is_remembered_without_its_password(tmp_path, monkeypatch):
    from celebface.gallery.store import gallery_url, save_gallery_url

    monkeypatch.delenv("CELEBFACE_GALLERY", raising=False)
    save_gallery_url(tmp_path, "postgresql://celeb:s3cret@db.example:5432/faces")
    text = (tmp_path / "gallery.json").read_text()
    assert "s3cret" not in text
    assert gallery_url(tmp_path) == "postgresql://celeb@db.example:5432/faces"
    monkeypatch.setenv("CELEBFACE_GALLERY", "postgresql://other@h/db")
    assert gallery_url(tmp_path) == "postgresql://other@h/db"


def test_an_unsupported_gallery_url_is_a_clear_error(tmp_path):
    from celebface.gallery import open_gallery

    with pytest.raises(GalleryError, match="unsupported gallery URL"):
        open_gallery(tmp_path, "mysql://x@y/z")
