"""From an empty model to named faces on real photos: init, enroll (files and --folder), predict, forget, undo,
compare, and the photos that must be refused (no face, several faces)."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from celebface.cli import main

DATASETS = Path(__file__).resolve().parents[2].parent / "shared" / "datasets"
CELEB5 = DATASETS / "celeb5"
EXTRAS = DATASETS / "extras"


def run(*args):
    out = CliRunner().invoke(main, [str(a) for a in args])
    return out


def photos(person: str, start: int, n: int) -> list[Path]:
    return sorted((CELEB5 / person).iterdir())[start:start + n]


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    model_dir = tmp_path_factory.mktemp("gal") / "model"
    out = run("init", model_dir)
    assert out.exit_code == 0, out.output
    known = tmp_path_factory.mktemp("known")
    (known / "Madonna").mkdir()
    for p in photos("Madonna", 0, 3):
        shutil.copy(p, known / "Madonna" / p.name)
    shutil.copy(photos("Elton_John", 0, 1)[0], known / "Elton_John.jpg")
    out = run("enroll", model_dir, "--folder", known, "--json")
    assert out.exit_code == 0, out.output
    return model_dir


@pytest.fixture(scope="module")
def rec(model):
    from celebface.recognition.recognizer import load

    rec = load(model, "cpu")
    rec.enroll("Jerry_Seinfeld", photos("Jerry_Seinfeld", 0, 3))
    return rec


def names(rec, paths) -> list[str]:
    return [rec.predict_image(p).faces[0].name for p in paths]


def test_enrolled_people_are_listed_and_named_in_new_photos(model, rec):
    people = {p["name"]: p["faces"] for p in json.loads(run("people", model, "--json").stdout)}
    assert set(people) == {"Madonna", "Elton_John", "Jerry_Seinfeld"} and people["Madonna"] >= 2
    got = names(rec, photos("Madonna", 5, 3) + photos("Jerry_Seinfeld", 5, 3))
    assert got[:3].count("Madonna") >= 2 and got[3:].count("Jerry_Seinfeld") >= 2


def test_a_photo_without_a_face_is_reported_and_nothing_written(model, rec):
    from celebface.errors import EnrollError

    before = rec.gallery.change_id()
    with pytest.raises(EnrollError, match="no face found.*|nothing was written"):
        rec.enroll("Cat", [EXTRAS / "no_face" / "cat.jpg"])
    assert rec.gallery.change_id() == before


def test_a_group_photo_needs_a_hint(rec):
    from celebface.errors import EnrollError

    with pytest.raises(EnrollError, match="faces and no hint"):
        rec.enroll("Someone", [EXTRAS / "group_photos" / "couple.jpg"])


def test_forget_stops_naming_and_undo_brings_back(model, rec):
    probe = photos("Jerry_Seinfeld", 8, 1)
    assert run("forget", model, "Jerry_Seinfeld").exit_code == 0  # another writer: the matcher polls
    rec.matcher.refresh(force=True)
    assert names(rec, probe) != ["Jerry_Seinfeld"]
    rec.gallery.undo()
    rec.matcher.refresh(force=True)
    assert names(rec, probe) == ["Jerry_Seinfeld"]


def test_compare_says_same_person_or_not(rec):
    import celebface

    out = run("compare", *photos("Mindy_Kaling", 0, 2), "--json")
    same = json.loads(out.stdout)
    other = celebface.compare(photos("Mindy_Kaling", 0, 1)[0], photos("Elton_John", 0, 1)[0], embedder=rec)
    assert same["same"] and not other.same and same["similarity"] > other.similarity
