"""The face-embedding cache follows WORK_DIR's images: entries of crops re-made or removed since are dropped when
it is written again, so re-augmenting for seed after seed does not grow it without end."""
from __future__ import annotations

from pathlib import Path

import numpy as np

import celebface.data.embedding_cache as ec
from celebface.faces.embedders import EMBED_DIM


def _fake_embed(paths, **kw):
    return np.stack([np.full(EMBED_DIM, len(Path(p).read_bytes()), np.float32) for p in paths])


def _cached_keys(work: Path) -> set[str]:
    with np.load(work / ec.CACHE_NAME) as z:
        return {k.split("|")[0] for k in z.files}


def test_entries_of_remade_or_removed_images_are_dropped(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(ec, "embed_files", _fake_embed)
    (tmp_path / "cache").mkdir()
    (tmp_path / "aug").mkdir()
    for name, data in (("a", b"1"), ("b", b"22"), ("c", b"333")):
        (tmp_path / "aug" / name).write_bytes(data)
    ec.cached_embeddings(tmp_path, ["aug/a", "aug/b", "aug/c"], progress=False)
    assert _cached_keys(tmp_path) == {"aug/a", "aug/b", "aug/c"}
    (tmp_path / "aug" / "b").write_bytes(b"4444")  # re-made under the same name
    (tmp_path / "aug" / "c").unlink()  # gone
    (tmp_path / "aug" / "d").write_bytes(b"55555")
    emb = ec.cached_embeddings(tmp_path, ["aug/b", "aug/d"], progress=False)
    assert emb[:, 0].tolist() == [4.0, 5.0]
    with np.load(tmp_path / ec.CACHE_NAME) as z:
        assert len(z.files) == 3  # a (unchanged, kept), the new b, d
    assert _cached_keys(tmp_path) == {"aug/a", "aug/b", "aug/d"}
    monkeypatch.setattr(ec, "embed_files", None)  # a kept entry is served without the network
    assert ec.cached_embeddings(tmp_path, ["aug/a"], progress=False)[0, 0] == 1.0
