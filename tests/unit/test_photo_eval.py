"""Validation figure (b): which photos are scored, and when a photo counts as named right (training/photo_eval.py)."""
from __future__ import annotations

import json
from pathlib import Path

from celebface.training.photo_eval import judge, missed_as, validation_photos
from celebface.types import FaceResult


def _face(box: list[float], name) -> FaceResult:
    return FaceResult(box=box, detector_prob=0.99, name=name, confidence=0.9 if name else 0.0, score=0.5,
                      top=[(name, 0.9)] if name else [], quality=0.9)


def _work_dir(tmp_path: Path, n_outside: int = 200) -> Path:
    photo = {"status": "ok", "bytes": 1, "mtime_ns": 1, "settings": "s", "n_faces": 1, "chosen_by": "main_face",
             "faces": [{"box": [0, 0, 10, 10], "prob": 0.9, "crop": "faces/x.png"}], "chosen": 0}
    photos = [dict(photo, file=f"a/{i}.jpg", person="a") for i in range(4)]
    photos += [dict(photo, file=f"a/s{i}.jpg", person="a", suspect=True) for i in range(n_outside)]
    photos.append(dict(photo, file="a/none.jpg", person="a", faces=[], n_faces=0, chosen=None, status="no_face"))
    photos.append(dict(photo, file="a/bad.jpg", person="a", faces=[], status="unreadable", chosen=None))
    (tmp_path / "manifest.json").write_text(json.dumps({"data_dir": str(tmp_path / "data"), "photos": photos}))
    (tmp_path / "split.json").write_text(json.dumps({"seed": 3, "val_share": 0.25, "train": ["a/0.jpg", "a/1.jpg"],
                                                     "val": ["a/2.jpg", "a/3.jpg"], "test": []}))
    return tmp_path


def test_validation_photos_add_a_seeded_share_of_the_photos_left_out_of_the_split(tmp_path: Path) -> None:
    data_dir, cases = validation_photos(_work_dir(tmp_path))
    files = {c.file for c in cases}
    assert data_dir == tmp_path / "data"
    assert {"a/2.jpg", "a/3.jpg"} <= files and not files & {"a/0.jpg", "a/1.jpg", "a/bad.jpg"}
    drawn = [c for c in cases if c.suspect]
    assert 25 <= len(drawn) <= 75 and all(not c.in_split for c in drawn)  # about a quarter of 200
    assert validation_photos(tmp_path)[1] == cases  # the same photos for the same seed
    split = json.loads((tmp_path / "split.json").read_text())
    (tmp_path / "split.json").write_text(json.dumps(dict(split, seed=4)))
    assert {c.file for c in validation_photos(tmp_path)[1] if c.suspect} != {c.file for c in drawn}


def test_a_photo_is_right_when_its_person_is_named_and_the_labelled_face_is_no_one_else(tmp_path: Path) -> None:
    _, cases = validation_photos(_work_dir(tmp_path, n_outside=0))
    case = next(c for c in cases if c.file == "a/2.jpg")  # labelled face at [0, 0, 10, 10]
    other = [50, 50, 60, 60]
    assert judge(case, [_face([1, 1, 10, 10], "a")]).right
    assert judge(case, [_face([1, 1, 10, 10], "unknown"), _face(other, "a")]).right
    assert not judge(case, [_face([1, 1, 10, 10], "b"), _face(other, "a")]).right  # the labelled face is b
    assert not judge(case, [_face([1, 1, 10, 10], "unknown")]).right  # a is named nowhere
    assert not judge(case, [_face(other, "b")]).right
    assert not judge(case, []).right
    assert judge(case, [_face([0, 0, 10, 10], None), _face(other, "a")]).named == ""


def test_each_wrong_photo_is_put_down_to_one_cause(tmp_path: Path) -> None:
    _, cases = validation_photos(_work_dir(tmp_path, n_outside=0))
    case = next(c for c in cases if c.file == "a/2.jpg")
    here, other = [1, 1, 10, 10], [50, 50, 60, 60]
    wrong = [judge(case, faces) for faces in ([_face(here, "unknown")], [_face(here, "b")], [_face(here, None)],
                                               [_face(other, "b")], [])]
    assert not any(o.right for o in wrong)
    assert missed_as(wrong) == {"unknown": 1, "another person": 1, "no name": 1, "not found": 2}
    assert missed_as([judge(case, [_face(here, "a")])]) == {"unknown": 0, "another person": 0, "no name": 0,
                                                             "not found": 0}
