"""A WORK_DIR whose crop settings changed (margin, size, padding) is cropped again from its stored boxes: the
detector does not run again, and a photo detected with other detector settings is detected again."""
from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from celebface.config import ExtractSettings
from celebface.data import extract
from celebface.data.manifest import FaceCrop, PhotoRecord
from celebface.io.sources import PhotoJob


def job(tmp_path: Path) -> PhotoJob:
    path = tmp_path / "p.jpg"
    Image.fromarray(np.full((100, 120, 3), 200, np.uint8)).save(path)
    st = path.stat()
    return PhotoJob("Ann/p.jpg", "Ann", str(path), st.st_size, st.st_mtime_ns)


def old_record(j: PhotoJob, key: str) -> PhotoRecord:
    face = FaceCrop([-10.0, 20.0, 40.0, 80.0], 0.99, [[5.0, 40.0]] * 5, "faces/Ann/old_f0.jpg")
    return PhotoRecord(j.file, j.person, j.bytes, j.mtime_ns, key, status="ok", faces=[face], n_faces=1, chosen=0)


def test_changed_padding_recrops_without_detecting(tmp_path: Path, monkeypatch) -> None:
    j, settings = job(tmp_path), ExtractSettings(size=64)
    old = old_record(j, "m0.2-s224-d800-p0.9")  # an old key: edge padding, before the pad part existed
    assert extract._same_detection(old, j, settings) and not extract._reusable(old, j, settings, tmp_path)
    monkeypatch.setattr(extract, "_detector", None)  # detecting would fail
    rec = extract._extract_one((j, str(tmp_path), settings, old))
    assert rec.status == "ok" and rec.settings == settings.key() and rec.faces[0].box == old.faces[0].box
    crop = Image.open(tmp_path / rec.faces[0].crop)
    assert crop.size == (64, 64) and crop.getpixel((0, 32)) != (200, 200, 200)  # the part outside is padded grey


def test_other_detector_settings_detect_again(tmp_path: Path) -> None:
    j = job(tmp_path)
    assert not extract._same_detection(old_record(j, "m0.2-s224-d640-p0.9"), j, ExtractSettings())
    assert not extract._same_detection(old_record(j, "m0.2-s224-d800-p0.95-padconstant"), j, ExtractSettings())
