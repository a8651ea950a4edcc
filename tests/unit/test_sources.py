"""Listing photos: DATA_DIR's layout, links that loop back, names that cannot be people."""
from __future__ import annotations

from pathlib import Path

import pytest

from celebface.errors import DataError
from celebface.io.sources import expand_paths, list_photos, name_problem
from conftest import write_rgb


def test_people_and_photos_are_listed(tmp_path: Path) -> None:
    write_rgb(tmp_path / "Ada" / "a.jpg")
    write_rgb(tmp_path / "Ada" / "sub" / "b.png", fmt="PNG")
    write_rgb(tmp_path / "Bob" / "c.jpg")
    (tmp_path / "Bob" / "notes.txt").write_text("x")
    (tmp_path / ".hidden").mkdir()
    jobs = list_photos(tmp_path)
    assert [(j.person, j.file) for j in jobs] == [("Ada", "Ada/a.jpg"), ("Ada", "Ada/sub/b.png"),
                                                  ("Bob", "Bob/c.jpg")]


@pytest.mark.parametrize("target", [".", "..", "Ada"])
def test_a_link_back_into_the_data_is_refused(tmp_path: Path, target: str) -> None:
    data = tmp_path / "data"
    write_rgb(data / "Ada" / "a.jpg")
    (data / "Loop").symlink_to(target if target != "Ada" else data / "Ada")
    with pytest.raises(DataError, match="Loop"):
        list_photos(data)


def test_a_link_to_photos_elsewhere_is_fine(tmp_path: Path) -> None:
    write_rgb(tmp_path / "elsewhere" / "a.jpg")
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "Ada").symlink_to(tmp_path / "elsewhere")
    assert [j.person for j in list_photos(tmp_path / "data")] == ["Ada"]


@pytest.mark.parametrize("name", ["Unknown", "unknown", "..", "a/b", "new\nline", "nul\x00", "", " pad", "x" * 201])
def test_names_that_cannot_be_people(name: str) -> None:
    assert name_problem(name) is not None


@pytest.mark.parametrize("name", ["Ada Lovelace", "Zoë Saldaña", "李娜", "Jean-Luc_Picard", "x" * 200])
def test_names_that_can(name: str) -> None:
    assert name_problem(name) is None


def test_folder_named_unknown_is_refused(tmp_path: Path) -> None:
    write_rgb(tmp_path / "Unknown" / "a.jpg")
    with pytest.raises(DataError, match="Unknown"):
        list_photos(tmp_path)


def test_expand_paths_keeps_files_and_walks_folders(tmp_path: Path) -> None:
    a = write_rgb(tmp_path / "f" / "b.jpg")
    c = write_rgb(tmp_path / "f" / "a.webp", fmt="WEBP")
    single = tmp_path / "whatever.bin"
    assert expand_paths([tmp_path / "f", single]) == [c, a, single]
