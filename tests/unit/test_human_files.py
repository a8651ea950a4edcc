"""Where the human-models networks are missing, celebface says exactly what to run, and never downloads."""
from __future__ import annotations

from pathlib import Path

import pytest


def test_missing_weights_say_what_to_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from celebface.errors import ModelFilesMissing
    from celebface.faces import human_files, human_models

    monkeypatch.setenv("CELEBFACE_CACHE", str(tmp_path))
    assert human_files.weights_path.__module__ == "celebface.faces.human_files"
    with pytest.raises(ModelFilesMissing, match=r"make weights.*python -m celebface\.faces\.human_models"):
        human_models.weights_path("faceres")
    with pytest.raises(ModelFilesMissing, match="make weights"):
        human_models.FaceresEmbedder()
    with pytest.raises(ModelFilesMissing, match="missing"):  # fetch=False: npm is never run
        human_files.ensure_converted(("faceres",), fetch=False)
    with pytest.raises(ValueError, match="unknown network"):
        human_models.weights_path("nope")
    assert list(tmp_path.iterdir()) == []  # nothing was written or fetched


def test_a_tarball_that_is_not_the_published_one_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from celebface.errors import ModelFilesMissing
    from celebface.faces import human_files

    monkeypatch.setenv("CELEBFACE_CACHE", str(tmp_path))
    human_files.tarball_path().parent.mkdir(parents=True)
    human_files.tarball_path().write_bytes(b"not the package")
    with pytest.raises(ModelFilesMissing, match="checksum differs"):
        human_files.ensure_converted(("faceres",), fetch=False)
