"""Photos named by worker processes (recognition/photo_pool.py): the same results as in the caller's process, in
order, annotated copies written by the workers, and workers that follow the caller's gallery."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

from click.testing import CliRunner

import celebface
from celebface.cli import main

from conftest import HELD_OUT, PEOPLE, assert_same_results, mixed_photos, photos


def test_worker_processes_name_photos_as_this_process_does(trained_model: Path, tmp_path: Path) -> None:
    paths = mixed_photos(tmp_path)
    rec = celebface.load(trained_model)
    here = [r.model_dump() for r in rec.predict_many(paths, workers=1)]
    pooled = [r.model_dump() for r in rec.predict_many(paths, processes=2)]
    assert [r["image"] for r in here] == [str(p) for p in paths]
    assert sum(f["name"] in PEOPLE for r in here for f in r["faces"]) >= 4
    assert sum(r["error"] is not None for r in pooled) == 1
    assert_same_results(here, pooled)


def test_predict_cli_with_processes_prints_and_annotates_as_with_one(trained_model: Path, tmp_path: Path) -> None:
    paths = [str(p) for p in mixed_photos(tmp_path)]
    runs = {}
    for n in (1, 2):
        out = tmp_path / f"annotated{n}"
        res = CliRunner().invoke(main, ["predict", str(trained_model), *paths, "--json", "--annotate", str(out),
                                        "--processes", str(n)])
        assert res.exit_code == 0, res.output
        runs[n] = ([json.loads(line) for line in res.output.splitlines() if line.startswith("{")],
                   sorted(f.name for f in out.iterdir()))
    assert_same_results(runs[1][0], runs[2][0])
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
