"""People's names: NFC always; names that differ only in case or width are one person's, so a second is refused;
names and paths in error lines are escaped and cut short."""
from __future__ import annotations

import unicodedata

import numpy as np
import pytest

from celebface.errors import DataError, GalleryError, shown
from celebface.gallery import open_gallery
from celebface.gallery.records import NewFace
from celebface.io.sources import list_photos

NFC, NFD = unicodedata.normalize("NFC", "Zoë"), unicodedata.normalize("NFD", "Zoë")


def faces(n: int = 1, seed: int = 0) -> list[NewFace]:
    rng = np.random.default_rng(seed)
    return [NewFace(rng.normal(size=128).astype(np.float32)) for _ in range(n)]


@pytest.fixture
def store(tmp_path):
    s = open_gallery(tmp_path)
    yield s
    s.close()


def test_composed_and_decomposed_names_are_one_person(store):
    assert NFC != NFD
    store.add(NFC, faces(2))
    store.add(NFD, faces(1, seed=1))  # as a folder name written by macOS
    assert [(p.name, p.faces) for p in store.people()] == [(NFC, 3)]
    store.rename(NFD, "Zoe")  # found by either form
    assert [p.name for p in store.people()] == ["Zoe"]


@pytest.mark.parametrize("other", ["roger", "ROGER", "Ｒoger", " roger "])
def test_a_name_differing_only_in_case_or_width_is_refused(store, other):
    store.add("Roger", faces())
    with pytest.raises(GalleryError, match="differs from 'Roger'.*only in case or width"):
        store.add(other, faces(seed=1))
    store.add("Ann", faces(seed=2))
    with pytest.raises(GalleryError, match="only in case or width"):
        store.rename("Ann", other)
    assert sorted(p.name for p in store.people()) == ["Ann", "Roger"]


def test_a_person_may_be_renamed_to_another_case_of_their_own_name(store):
    store.add("roger", faces())
    store.rename("roger", "Roger")
    assert [p.name for p in store.people()] == ["Roger"]
    store.undo()
    assert [p.name for p in store.people()] == ["roger"]


def test_full_width_unknown_is_reserved_too(store):
    with pytest.raises(GalleryError, match="reserved"):
        store.add("ＵNKNOWN", faces())


def test_data_dir_folders_are_nfc_and_look_alikes_are_refused(tmp_path, png_bytes):
    (tmp_path / NFD).mkdir()
    (tmp_path / NFD / "a.png").write_bytes(png_bytes)
    assert {j.person for j in list_photos(tmp_path)} == {NFC}
    for name in ("Roger", "roger"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "a.png").write_bytes(png_bytes)
    with pytest.raises(DataError, match="differ only in case or width"):
        list_photos(tmp_path)


@pytest.fixture
def png_bytes() -> bytes:
    import io

    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (8, 8)).save(buf, format="PNG")
    return buf.getvalue()


def test_shown_escapes_control_characters_and_cuts_long_text():
    assert shown("x\x1b[31mRED\x07") == "x\\x1b[31mRED\\x07"
    assert shown("a\nb") == "a\\nb"
    long = shown("n" * 10_000)
    assert long == "n" * 80 + "…"


def test_a_name_with_escapes_or_10000_characters_gives_a_short_harmless_error(store):
    with pytest.raises(GalleryError) as bad:
        store.add("x\x1b[31mRED\x07", faces())
    assert "\x1b" not in str(bad.value) and "\\x1b" in str(bad.value)
    with pytest.raises(GalleryError) as long:
        store.add("n" * 10_000, faces())
    assert len(str(long.value)) < 200 and "longer than 200 characters" in str(long.value)
