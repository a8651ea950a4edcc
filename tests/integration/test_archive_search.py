"""`index --add-to-gallery` stores an archive's faces in the model's gallery; `search` finds a person's faces in
it from a new photo of them (real photos, the session's trained dlib_face model, the SQLite gallery)."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

from click.testing import CliRunner

from conftest import PHOTOS_PER_PERSON, photos


def test_index_adds_the_archive_to_the_gallery_and_search_finds_a_person(trained_model: Path, tmp_path: Path):
    from celebface.cli import main

    model = tmp_path / "model"
    shutil.copytree(trained_model, model)
    archive = tmp_path / "archive"
    archive.mkdir()
    held_out = {p: photos(p)[PHOTOS_PER_PERSON:PHOTOS_PER_PERSON + 5] for p in ("Roger_Federer", "Serena_Williams")}
    for person, files in held_out.items():
        for f in files[:4]:
            (archive / f"{person}__{f.name}").symlink_to(f)
    out = tmp_path / "index"
    args = ["index", str(model), str(archive), "--out", str(out), "--workers", "1", "--add-to-gallery", "--quiet"]
    res = CliRunner().invoke(main, args)
    assert res.exit_code == 0, res.output
    assert "new archive faces stored" in res.output and "people: " in res.output
    people = json.loads(CliRunner().invoke(main, ["person", "list", str(model), "--json"]).output.splitlines()[0])
    for person, files in held_out.items():  # each man's archive faces grouped into one unnamed person
        theirs = {str(f.resolve()) for f in files[:4]}
        owners = set()
        for p in people:
            listed = json.loads(CliRunner().invoke(main, ["person", "faces", str(model), str(p["id"]), "--json"]).output)
            owners |= {p["id"]} if {f["path"] for f in listed} & theirs else set()
            assert not ({f["path"] for f in listed} & theirs) or {f["path"] for f in listed} <= theirs, (person, listed)
        assert len(owners) == 1, (person, people)
    again = CliRunner().invoke(main, args)  # a rerun: nothing new to index, nothing new to store
    assert again.exit_code == 0 and "gallery: 0 new archive faces stored" in again.output, again.output

    query = held_out["Roger_Federer"][4]  # a fifth Federer photo, not in the archive
    res = CliRunner().invoke(main, ["search", str(model), str(query), "--top", "3", "--json"])
    assert res.exit_code == 0, res.output
    faces = json.loads(res.output)
    federer = [f for f in faces if f["name"] == "Roger_Federer"]
    assert federer, faces
    best = federer[0]["matches"]
    assert len(best) == 3 and best[0]["similarity"] >= best[1]["similarity"]
    his = {str(f.resolve()) for f in held_out["Roger_Federer"][:4]}  # the index stores where links lead
    assert best[0]["sighting"]["path"] in his and best[0]["sighting"]["name"] == "Roger_Federer", best
    assert sum(m["sighting"]["path"] in his for m in best) >= 2, best
    plain = CliRunner().invoke(main, ["search", str(model), str(query)])
    assert plain.exit_code == 0 and "Roger_Federer" in plain.output
    clusters_of_the_archive(model, tmp_path / "clusters", {p: {str(f.resolve()) for f in fs[:4]}
                                                           for p, fs in held_out.items()})


def clusters_of_the_archive(model: Path, out: Path, theirs: dict[str, set[str]]) -> None:
    """`cluster --archive` groups the stored faces (nothing detected again) into each person's photos, names the
    clusters from the index's names, cuts crops from the photos, and a cluster can be enrolled."""
    from celebface.cli import main

    res = CliRunner().invoke(main, ["cluster", "--archive", str(model), "--out", str(out), "--min-faces", "2"])
    assert res.exit_code == 0, res.output
    index = json.loads((out / "clusters.json").read_text())
    named = {c["name"]: c for c in index["clusters"] if c["name"]}
    assert set(named) == set(theirs), index["clusters"]
    for person, paths in theirs.items():
        faces = named[person]["faces"]
        assert len(faces) >= 3 and {f["photo"] for f in faces} <= paths, (person, faces)
        crops = [out / named[person]["id"] / f["crop"] for f in faces if f["crop"]]
        assert len(crops) == len(faces) and all(c.is_file() for c in crops)
    fed = out / named["Roger_Federer"]["id"]
    assert (fed / "contact_sheet.png").is_file()
    res = CliRunner().invoke(main, ["enroll", str(model), "--cluster", str(fed), "--name", "Federer_Again"])
    assert res.exit_code == 0, res.output
    both = CliRunner().invoke(main, ["cluster", "--archive", str(model), str(fed), "--out", str(out)])
    assert both.exit_code == 2 and "one of the two" in both.output


def test_search_before_anything_is_stored_says_what_to_do(trained_model: Path, tmp_path: Path):
    from celebface.cli import main

    model = tmp_path / "model"
    shutil.copytree(trained_model, model)
    query = photos("Roger_Federer")[PHOTOS_PER_PERSON]
    res = CliRunner().invoke(main, ["search", str(model), str(query)])
    assert res.exit_code == 2 and "--add-to-gallery" in res.output, res.output
    res = CliRunner().invoke(main, ["cluster", "--archive", str(model), "--out", str(tmp_path / "clusters")])
    assert res.exit_code == 2 and "--add-to-gallery" in res.output, res.output
