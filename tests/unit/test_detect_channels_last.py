"""The detector's channels-last networks find the same faces as facenet-pytorch's MTCNN as shipped (real photos:
a group photo, a sports5 photo)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

DATASETS = Path(__file__).resolve().parents[3] / "shared" / "datasets"


def test_same_faces_as_plain_mtcnn() -> None:
    if not DATASETS.is_dir():
        pytest.skip("sample data not found")
    import torch

    from celebface.faces.detect import FaceDetector
    from celebface.io.images import load_image

    ours, plain = FaceDetector(), FaceDetector()
    for net in (plain.mtcnn.pnet, plain.mtcnn.rnet, plain.mtcnn.onet):
        net.to(memory_format=torch.contiguous_format)
    assert ours.mtcnn.pnet.conv1.weight.is_contiguous(memory_format=torch.channels_last)
    photos = [sorted((DATASETS / "extras" / "group_photos").iterdir())[0],
              sorted((DATASETS / "sports5" / "Roger_Federer").iterdir())[0]]
    found = 0
    for path in photos:
        img = load_image(path)
        a, b = ours.detect(img), plain.detect(img)
        assert len(a) == len(b)
        for fa, fb in zip(a, b):
            assert np.abs(np.subtract(fa.box, fb.box)).max() < 0.01
            assert abs(fa.prob - fb.prob) < 1e-4
        found += len(a)
    assert found >= 3
