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
    assert "new archive faces stored" in res.output
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


def test_search_before_anything_is_stored_says_what_to_do(trained_model: Path, tmp_path: Path):
    from celebface.cli import main

    model = tmp_path / "model"
    shutil.copytree(trained_model, model)
    query = photos("Roger_Federer")[PHOTOS_PER_PERSON]
    res = CliRunner().invoke(main, ["search", str(model), str(query)])
    assert res.exit_code == 2 and "--add-to-gallery" in res.output, res.output
