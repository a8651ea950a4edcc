"""`prepare --align`: face crops aligned on MTCNN's 5 landmarks, and a model trained on them cutting faces the
same way when it names them (real sports5 photos)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from conftest import PEOPLE, photos


def _subset(root: Path, n: int = 4) -> Path:
    for person in PEOPLE[:2]:
        (root / person).mkdir(parents=True)
        for p in photos(person)[:n]:
            (root / person / p.name).symlink_to(p)
    return root


def test_aligned_work_dir_and_model_cut_the_same_level_faces(tmp_path: Path) -> None:
    import celebface
    from celebface.config import PrepareOptions, TrainOptions
    from celebface.data.prepare import prepare
    from celebface.faces.detect import FaceDetector
    from celebface.io.fileio import read_json
    from celebface.io.images import load_image
    from celebface.training.train import train
    from celebface.types import Face

    data, work, model = _subset(tmp_path / "data"), tmp_path / "work", tmp_path / "model"
    prepare(data, work, PrepareOptions(per_class=8, align=True), progress=False)
    manifest = read_json(work / "manifest.json")
    assert manifest["settings"]["align"] is True
    train(work, model, TrainOptions(backbone="dlib_face"), progress=False, log=lambda s: None)
    rec = celebface.load(model)
    assert rec.align and rec.bundle.config["preprocessing"]["align"] is True

    detector, tilts, diffs = FaceDetector(), [], []
    for r in [r for r in manifest["photos"] if r["chosen"] is not None]:
        face = r["faces"][r["chosen"]]
        stored = Image.open(work / face["crop"]).convert("RGB")
        recut = rec.crop(load_image(data / r["file"]), [Face(face["box"], face["prob"], face["landmarks"])])[0]
        diffs.append(np.abs(np.asarray(stored, float) - np.asarray(recut, float)).mean())  # JPEG noise only
        found = detector.detect(stored)
        if found:
            (lx, ly), (rx, ry) = found[0].landmarks[:2]
            tilts.append(abs(ry - ly) / max(rx - lx, 1.0))
    assert len(diffs) >= 6 and max(diffs) < 4.0, diffs
    assert len(tilts) >= 6 and max(tilts) < 0.08, tilts  # eyes level in every aligned crop (tan < 4.6 degrees)

    named = rec.predict_image(photos(PEOPLE[0])[0])
    assert named.faces and named.faces[0].name == PEOPLE[0]
