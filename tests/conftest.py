"""Shared fixtures: a small, messy subset of the real sports5 photos, prepared and trained once per session."""
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


def pytest_configure(config: pytest.Config) -> None:
    if not SPORTS5.is_dir():
        raise pytest.UsageError(f"sample data not found at {DATASETS}; the tests read ../shared/datasets")


def photos(person: str) -> list[Path]:
    from celebface.io.images import is_image_name

    return sorted(p for p in (SPORTS5 / person).iterdir() if is_image_name(p))


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
