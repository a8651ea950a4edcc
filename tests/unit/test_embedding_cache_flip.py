"""Flip-averaged embeddings built from prepare's cached single-view ones plus the mirror image equal the ones
computed from scratch (real glint12 crops, dlib's real network)."""
from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from celebface.data.embedding_cache import CACHE_NAME, FLIP_CACHE_NAME, cached_embeddings
from celebface.faces.identity_pool import embed_files

GLINT = Path(__file__).resolve().parents[3] / "shared" / "datasets" / "glint12"


def test_flip_cache_reuses_single_view_embeddings(tmp_path: Path, monkeypatch) -> None:
    if not GLINT.is_dir():
        pytest.skip("sample data not found")
    person = sorted(p for p in GLINT.iterdir() if p.is_dir())[0]
    (tmp_path / "faces").mkdir()
    files = []
    for src in sorted(person.iterdir())[:3]:
        shutil.copy(src, tmp_path / "faces" / src.name)
        files.append(f"faces/{src.name}")
    single = cached_embeddings(tmp_path, files, progress=False)  # what prepare's face choice leaves in the cache
    assert (tmp_path / CACHE_NAME).exists()
    calls = []
    import celebface.data.embedding_cache as ec

    monkeypatch.setattr(ec, "embed_files", lambda *a, **k: calls.append(k) or embed_files(*a, **k))
    flipped = cached_embeddings(tmp_path, files, progress=False, flip=True)
    assert [c.get("mirror_only") for c in calls] == [True]  # only the mirror images went through the network
    scratch = embed_files([tmp_path / f for f in files], flip=True, identity="dlib")
    assert np.abs(flipped - scratch).max() < 1e-5
    assert np.abs(flipped - single).max() > 1e-3  # the mirror view does change the embedding
    assert (tmp_path / FLIP_CACHE_NAME).exists()
