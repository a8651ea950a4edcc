"""Shared fixtures: a small, messy subset of the real sports5 photos, prepared and trained once per session.

The sample data's paths live here and nowhere else in the tests."""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

os.environ.setdefault("CELEBFACE_OFFLINE", "1")  # tests never download anything
os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")

DATASETS = Path(__file__).resolve().parents[1].parent / "shared" / "datasets"
SPORTS5 = DATASETS / "sports5"
EXTRAS = DATASETS / "extras"
PEOPLE = ("Roger_Federer", "Serena_Williams", "Virat_Kohli")
PHOTOS_PER_PERSON = 16
#: A training photo where the labelled person is not the main face (Nadal is bigger and more central).
MULTI_FACE = "Roger_Federer/becker-i-would-like-to-see-roger-federer-nadal-and-djokovic-being-beaten-.jpg"
HELD_OUT = "Maria_Sharapova"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """tests/unit needs nothing; every other tier reads the sample photos, and their absence is an error."""
    unit = Path(__file__).resolve().parent / "unit"
    if not SPORTS5.is_dir() and any(unit not in Path(str(it.fspath)).resolve().parents for it in items):
        raise pytest.UsageError(f"sample data not found at {DATASETS}; the integration and e2e tests read "
                                f"../shared/datasets (tests/unit runs without it)")


def cosines(a, b):
    """Cosine similarities of every row of a with every row of b (numpy arrays)."""
    import numpy as np

    a = a / np.linalg.norm(a, axis=-1, keepdims=True)
    b = b / np.linalg.norm(b, axis=-1, keepdims=True)
    return a @ b.T


def photos(person: str) -> list[Path]:
    from celebface.io.images import is_image_name

    return sorted(p for p in (SPORTS5 / person).iterdir() if is_image_name(p))


def mixed_photos(tmp_path: Path) -> list[Path]:
    """Photos of the fixtures' people, a group photo of strangers, a file that is not a photo and a cat."""
    bad = tmp_path / "broken.jpg"
    bad.write_bytes(b"not really a jpeg")
    paths = [p for person in PEOPLE for p in photos(person)[-2:]]
    paths[3:3] = [EXTRAS / "group_photos" / "group 1.jpg", bad, EXTRAS / "no_face" / "cat.jpg"]
    return paths


def assert_same_results(expected: list[dict], got: list[dict]) -> None:
    """Two runs' PhotoResults (model_dump()s) name the same photos in the same order with the same names, errors,
    boxes (0.2 px) and confidences (1e-3)."""
    assert [r["image"] for r in got] == [r["image"] for r in expected]
    for a, b in zip(expected, got):
        assert a["error"] == b["error"] and [f["name"] for f in a["faces"]] == [f["name"] for f in b["faces"]]
        for fa, fb in zip(a["faces"], b["faces"]):
            assert fa["box"] == pytest.approx(fb["box"], abs=0.2)
            assert fa["confidence"] == pytest.approx(fb["confidence"], abs=1e-3)


@pytest.fixture(scope="session")
def sports5_crops() -> list:
    """(person, 224-px square crop with MARGIN) of the main face of 2 photos each of 3 sports5 people."""
    from celebface.config import MARGIN
    from celebface.faces.align import crop_face
    from celebface.faces.detect import FaceDetector, main_face_index
    from celebface.io.images import load_image

    detector, out = FaceDetector(), []
    for person in PEOPLE:
        for p in photos(person):
            img = load_image(p)
            faces = detector.detect(img)
            i = main_face_index(faces, img.size)
            if i is not None and faces[i].prob > 0.99:
                out.append((person, crop_face(img, faces[i].box, MARGIN)))
            if sum(o[0] == person for o in out) == 2:
                break
    assert len(out) == 6
    return out


@pytest.fixture(scope="session")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """DATA_DIR with 3 people x 12 real photos (links), the multi-face photo, a corrupt photo and a cat."""
    root = tmp_path_factory.mktemp("data")
    for person in PEOPLE:
        (root / person).mkdir()
        for p in photos(person)[:PHOTOS_PER_PERSON]:
            (root / person / p.name).symlink_to(p)
    (root / MULTI_FACE).symlink_to(SPORTS5 / MULTI_FACE)
    good = photos("Serena_Williams")[0].read_bytes()
    (root / "Serena_Williams" / "corrupt.jpg").write_bytes(good[: len(good) // 3])  # truncated JPEG
    shutil.copyfile(EXTRAS / "no_face" / "cat.jpg", root / "Virat_Kohli" / "a_cat.jpg")
    return root


@pytest.fixture(scope="session")
def work_dir(data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    from celebface.config import PrepareOptions
    from celebface.data.prepare import prepare

    work = tmp_path_factory.mktemp("work")
    prepare(data_dir, work, PrepareOptions(per_class=40), progress=False)
    return work


@pytest.fixture(scope="session")
def lite0_model(work_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    from celebface.config import TrainOptions
    from celebface.training.train import train

    model = tmp_path_factory.mktemp("models") / "lite0"
    train(work_dir, model, TrainOptions(backbone="efficientnet_lite0", epochs1=20, epochs2=2), progress=False,
          log=lambda s: None)
    return model


@pytest.fixture(scope="session")
def trained_model(work_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The face-embedding model (accurate, can enrol): what the server and browser tests use."""
    from celebface.config import TrainOptions
    from celebface.training.train import train

    model = tmp_path_factory.mktemp("models") / "dlib"
    train(work_dir, model, TrainOptions(backbone="dlib_face"), progress=False, log=lambda s: None)
    return model
