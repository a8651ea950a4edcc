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
    out = run("enroll", model_dir, *photos("Jerry_Seinfeld", 0, 3), "--name", "Jerry_Seinfeld")
    assert out.exit_code == 0, out.output
    return model_dir


def test_enrolled_people_are_listed_and_named_in_new_photos(model):
    people = {p["name"]: p["faces"] for p in json.loads(run("people", model, "--json").stdout)}
    assert set(people) == {"Madonna", "Elton_John", "Jerry_Seinfeld"} and people["Madonna"] >= 2
    out = run("predict", model, *photos("Madonna", 5, 3), *photos("Jerry_Seinfeld", 5, 3), "--json")
    names = [json.loads(line)["faces"][0]["name"] for line in out.stdout.splitlines()]
    assert names.count("Madonna") >= 2 and names.count("Jerry_Seinfeld") >= 2


def test_a_photo_without_a_face_is_reported_and_nothing_written(model):
    before = run("history", model, "--json").stdout
    out = run("enroll", model, EXTRAS / "no_face" / "cat.jpg", "--name", "Cat")
    assert out.exit_code == 2 and "no face found" in out.output and "nothing was written" in out.output
    assert run("history", model, "--json").stdout == before


def test_a_group_photo_needs_a_hint(model):
    out = run("enroll", model, EXTRAS / "group_photos" / "group 1.jpg", "--name", "Someone")
    assert out.exit_code == 2 and "faces and no hint" in out.output


def test_forget_stops_naming_and_undo_brings_back(model):
    probe = photos("Jerry_Seinfeld", 8, 1)[0]
    assert run("forget", model, "Jerry_Seinfeld").exit_code == 0
    assert json.loads(run("predict", model, probe, "--json").stdout)["faces"][0]["name"] != "Jerry_Seinfeld"
    assert run("undo", model).exit_code == 0
    assert json.loads(run("predict", model, probe, "--json").stdout)["faces"][0]["name"] == "Jerry_Seinfeld"


def test_compare_says_same_person_or_not():
    same = json.loads(run("compare", *photos("Mindy_Kaling", 0, 2), "--json").stdout)
    other = json.loads(run("compare", photos("Mindy_Kaling", 0, 1)[0], photos("Elton_John", 0, 1)[0],
                           "--json").stdout)
    assert same["same"] and not other["same"] and same["similarity"] > other["similarity"]
