"""faces.mtcnn_fast.BatchedMTCNN finds the same faces as facenet-pytorch's MTCNN as shipped (per-box
resampling, contiguous weights) on a spread of the sample photos: sports5, celeb5 and every extras photo,
shrunk as the detector shrinks them; and the same second-look results on 160 px face crops."""
from __future__ import annotations

import numpy as np
import pytest

from conftest import DATASETS

#: How far apart our boxes and landmarks may be from facenet-pytorch's, in pixels (the issue's bound).
PX = 0.5


def sample_photos() -> list:
    from celebface.io.sources import list_photos

    def every(folder: str, step: int) -> list:
        return [j.path for j in list_photos(DATASETS / folder)][::step] if (DATASETS / folder).is_dir() else []

    extras = sorted(p for p in (DATASETS / "extras").rglob("*") if p.is_file())
    return every("sports5", 9) + every("celeb5", 6) + extras


def assert_same(ours, boxes, probs, points) -> None:
    if boxes is None:
        assert len(ours) == 0
        return
    assert len(ours) == len(boxes)
    order = np.argsort(-np.asarray(probs, dtype=np.float64), kind="stable")
    assert np.abs(ours.boxes - np.asarray(boxes, dtype=np.float32)[order]).max() <= PX
    assert np.abs(ours.points - np.asarray(points, dtype=np.float32)[order]).max() <= PX
    assert np.abs(ours.probs - np.asarray(probs, dtype=np.float32)[order]).max() <= 1e-4


@pytest.fixture(scope="module")
def detectors():
    from facenet_pytorch import MTCNN

    from celebface.faces.detect import FaceDetector

    return FaceDetector(), MTCNN(keep_all=True, select_largest=False)


def test_same_faces_as_facenet_pytorch(detectors) -> None:
    from celebface.errors import ImageError
    from celebface.io.images import load_image

    ours, plain = detectors
    photos, faces = 0, 0
    for path in sample_photos():
        try:
            small, _ = ours.shrink(load_image(path))
        except ImageError:
            continue
        found = ours.mtcnn.detect(small)[0]
        boxes, probs, points = plain.detect(small, landmarks=True)
        assert_same(found, boxes, probs, points)
        photos, faces = photos + 1, faces + len(found)
    assert photos >= 70 and faces >= 100


def test_same_second_look(detectors) -> None:
    """The quality gate's second look detects a batch of 160 px crops of one size, its pyramid's two finest levels
    left out: the same faces as facenet-pytorch's MTCNN searching for faces that large."""
    from facenet_pytorch import MTCNN

    from celebface.faces.align import crop_face
    from celebface.faces.detect import RECHECK_SIZE
    from celebface.io.images import load_image

    ours, _ = detectors
    img = load_image(DATASETS / "extras" / "group_photos" / "group 1.jpg")
    faces = ours.detect(img)
    assert len(faces) >= 3
    crops = [crop_face(img, f.box, margin=0.5, size=RECHECK_SIZE, pad="constant") for f in faces]
    look = MTCNN(keep_all=True, select_largest=False, min_face_size=ours.recheck_min_face())
    boxes, probs, points = look.detect(crops, landmarks=True)
    again = ours.mtcnn.detect(crops, min_face_size=ours.recheck_min_face())
    for found, b, p, pts in zip(again, boxes, probs, points):
        assert_same(found, b, p, pts)
    assert all(p >= 0.95 for p in ours.confirm_all(img, faces[:3]))  # the three most probable faces, found again
