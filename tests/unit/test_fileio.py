"""Every file celebface writes appears whole or not at all."""
from __future__ import annotations

from pathlib import Path

import pytest

from celebface.io.fileio import atomic_open, atomic_path, read_json, write_json


def test_write_json_replaces_whole(tmp_path: Path) -> None:
    p = tmp_path / "a" / "x.json"
    write_json(p, {"v": 1})
    write_json(p, {"v": 2})
    assert read_json(p) == {"v": 2} and [f.name for f in p.parent.iterdir()] == ["x.json"]


def test_a_failed_write_keeps_the_old_file(tmp_path: Path) -> None:
    p = tmp_path / "x.json"
    write_json(p, {"v": 1})
    with pytest.raises(TypeError):
        write_json(p, {"v": object()})  # not JSON: fails half-way through writing
    assert read_json(p) == {"v": 1} and [f.name for f in tmp_path.iterdir()] == ["x.json"]


def test_atomic_open_and_path(tmp_path: Path) -> None:
    p = tmp_path / "b.bin"
    with atomic_open(p, "wb") as f:
        f.write(b"abc")
        assert not p.exists()  # nothing at the final path until the body is done
    assert p.read_bytes() == b"abc"
    with pytest.raises(RuntimeError):
        with atomic_path(p) as tmp:
            tmp.write_bytes(b"half")
            raise RuntimeError("killed")
    assert p.read_bytes() == b"abc" and len(list(tmp_path.iterdir())) == 1
