"""The PyTorch port of dlib's face ResNet gives dlib's own descriptors (real glint12 and sports5 faces, the real
model file), one at a time and in batches; a file that is not the model is refused with what to do."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from celebface.errors import ModelFilesMissing
from celebface.faces.dlib_net import read_weights
from celebface.faces.embedders import DlibEmbedder, dlib_models_dir

DATASETS = Path(__file__).resolve().parents[3] / "shared" / "datasets"
MODEL = "dlib_face_recognition_resnet_model_v1.dat"


def _chips(n_per_set: int = 4) -> list[np.ndarray]:
    from PIL import Image

    from celebface.faces.align import crop_face
    from celebface.faces.detect import FaceDetector

    embedder, detector, chips = DlibEmbedder(), FaceDetector(), []
    for folder in (DATASETS / "glint12", DATASETS / "sports5"):
        person = sorted(p for p in folder.iterdir() if p.is_dir())[1]
        for src in sorted(person.iterdir())[:n_per_set]:
            img = Image.open(src).convert("RGB")
            faces = detector.detect(img)
            if faces:
                chips.append(embedder.chip(crop_face(img, faces[0].box, margin=embedder.margin, size=224)))
    return chips


def test_torch_network_matches_dlib() -> None:
    if not DATASETS.is_dir():
        pytest.skip("sample data not found")
    import dlib

    chips = _chips()
    assert len(chips) >= 6
    chips.append(np.ascontiguousarray(chips[0][:, ::-1]))  # a mirror image too
    ours = DlibEmbedder().net
    theirs = dlib.face_recognition_model_v1(str(dlib_models_dir() / MODEL))
    ref = np.asarray(theirs.compute_face_descriptor(chips), np.float32)
    batched = ours(chips)
    single = np.concatenate([ours([c]) for c in chips])
    assert np.abs(batched - ref).max() < 1e-4
    assert np.abs(single - ref).max() < 1e-4
    assert np.abs(ref[0] - ref[-1]).max() > 1e-2  # the mirror image is a different input


def test_wrong_file_is_refused(tmp_path: Path) -> None:
    bad = tmp_path / MODEL
    bad.write_bytes((dlib_models_dir() / "shape_predictor_5_face_landmarks.dat").read_bytes())
    with pytest.raises(ModelFilesMissing, match="face-recognition-models"):
        read_weights(bad)
