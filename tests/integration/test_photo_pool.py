"""Photos named by worker processes (recognition/photo_pool.py): the same results as in the caller's process, in
order, annotated copies written by the workers, and workers that follow the caller's gallery."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

import celebface
from celebface.cli import main

from conftest import EXTRAS, HELD_OUT, PEOPLE, photos


def _paths(tmp_path: Path) -> list[Path]:
    """Photos of the model's people, a group photo of strangers, a cat and a file that is not a photo."""
    bad = tmp_path / "broken.jpg"
    bad.write_bytes(b"not really a jpeg")
    paths = [p for person in PEOPLE for p in photos(person)[-2:]]
    paths[3:3] = [EXTRAS / "group_photos" / "group 1.jpg", bad, EXTRAS / "no_face" / "cat.jpg"]
    return paths


def _same(here: list[dict], pooled: list[dict]) -> None:
    assert [r["image"] for r in pooled] == [r["image"] for r in here]
    for a, b in zip(here, pooled):
        assert a["error"] == b["error"] and [f["name"] for f in a["faces"]] == [f["name"] for f in b["faces"]]
        for fa, fb in zip(a["faces"], b["faces"]):
            assert fa["box"] == pytest.approx(fb["box"], abs=0.2)
            assert fa["confidence"] == pytest.approx(fb["confidence"], abs=1e-3)


def test_worker_processes_name_photos_as_this_process_does(trained_model: Path, tmp_path: Path) -> None:
    paths = _paths(tmp_path)
    rec = celebface.load(trained_model)
    here = [r.model_dump() for r in rec.predict_many(paths, workers=1)]
    pooled = [r.model_dump() for r in rec.predict_many(paths, processes=2)]
    assert [r["image"] for r in here] == [str(p) for p in paths]
    assert sum(f["name"] in PEOPLE for r in here for f in r["faces"]) >= 4
    assert sum(r["error"] is not None for r in pooled) == 1
    _same(here, pooled)


def test_predict_cli_with_processes_prints_and_annotates_as_with_one(trained_model: Path, tmp_path: Path) -> None:
    paths = [str(p) for p in _paths(tmp_path)]
    runs = {}
    for n in (1, 2):
        out = tmp_path / f"annotated{n}"
        res = CliRunner().invoke(main, ["predict", str(trained_model), *paths, "--json", "--annotate", str(out),
                                        "--processes", str(n)])
        assert res.exit_code == 0, res.output
        runs[n] = ([json.loads(line) for line in res.output.splitlines() if line.startswith("{")],
                   sorted(f.name for f in out.iterdir()))
    _same(runs[1][0], runs[2][0])
    readable = [Path(r["image"]).stem for r in runs[1][0] if r["error"] is None]
    assert runs[2][1] == runs[1][1] == sorted(f"{stem}.annotated.jpg" for stem in readable)


def test_workers_follow_the_callers_gallery(trained_model: Path, tmp_path: Path) -> None:
    """A person enrolled by the caller after the workers loaded the model is named by them in the next call."""
    model = tmp_path / "m"
    shutil.copytree(trained_model, model)
    rec = celebface.load(model)
    maria = photos(HELD_OUT)

    def named_maria(results) -> int:
        return sum(bool(r.faces) and r.faces[0].name == HELD_OUT for r in results)

    assert named_maria(rec.predict_many(maria[8:14], processes=2)) == 0
    rec.enroll(HELD_OUT, maria[:6], main_face=True)
    assert named_maria(rec.predict_many(maria[8:14], processes=2)) >= 4
