"""Face crops, where the face sits in a crop, and which face of a photo is the main one."""
from __future__ import annotations

import numpy as np
from PIL import Image

from celebface.faces.align import crop_face, face_box_in_crop
from celebface.faces.detect import main_face_index, order_faces
from celebface.types import Face


def test_crop_is_square_centred_and_resized() -> None:
    arr = np.zeros((200, 300, 3), np.uint8)
    arr[80:120, 130:170] = 255  # a white 40x40 "face"
    crop = crop_face(Image.fromarray(arr), [130, 80, 170, 120], margin=0.5, size=80)
    assert crop.size == (80, 80)
    x1, y1, x2, y2 = face_box_in_crop(0.5, 80)
    inner = np.asarray(crop)[y1 + 2:y2 - 2, x1 + 2:x2 - 2]
    assert inner.mean() > 240  # the face fills the central square
    assert np.asarray(crop)[:5, :5].mean() < 10  # the margin around it is background


def test_face_box_in_crop_matches_margin() -> None:
    x1, y1, x2, y2 = face_box_in_crop(0.2, 224)
    assert x2 - x1 == round(224 / 1.4) and x1 == y1 and x1 + x2 == 224


def test_main_face_prefers_large_confident_central_faces() -> None:
    small_corner = Face([0, 0, 20, 20], 0.99)
    big_centre = Face([80, 60, 160, 140], 0.98)
    faint_big = Face([150, 10, 230, 90], 0.5)
    faces = [small_corner, faint_big, big_centre]
    assert main_face_index(faces, (240, 200)) == 2
    assert order_faces(faces, (240, 200))[0] is big_centre
    assert main_face_index([], (10, 10)) is None


def test_face_round_trips_through_dict_exactly() -> None:
    """A stored face is the detected face to the last bit (a crop re-made from it is the same crop), and plain JSON."""
    import json

    f = Face([1.234567891, 2.0, 30.05, 40.0], np.float32(0.98765432), [[1.25, 2.0000001]] * 5)
    g = Face.from_dict(json.loads(json.dumps(f.to_dict())))
    assert g.box == f.box and g.prob == float(np.float32(0.98765432)) and g.landmarks == f.landmarks


def _dot(arr: np.ndarray, x: float, y: float, colour: tuple[int, int, int], r: int = 3) -> None:
    yy, xx = np.ogrid[:arr.shape[0], :arr.shape[1]]
    arr[(xx - x) ** 2 + (yy - y) ** 2 <= r * r] = colour


def _centroid(arr: np.ndarray, colour: tuple[int, int, int]) -> np.ndarray:
    near = np.abs(arr.astype(int) - colour).sum(axis=2) < 120
    ys, xs = np.nonzero(near)
    return np.array([xs.mean(), ys.mean()])


def test_aligned_crop_puts_tilted_landmarks_on_the_template() -> None:
    from celebface.faces.align import TEMPLATE, aligned_crop

    # A face tilted by 25 degrees and twice the template's size: its 5 points are the template's, moved.
    a = np.deg2rad(25)
    rot = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
    points = (TEMPLATE - 56) @ rot.T * 2.0 + [300, 220]
    arr = np.full((480, 640, 3), 90, np.uint8)
    colours = [(255, 0, 0), (0, 0, 255), (0, 255, 0), (255, 255, 0), (255, 0, 255)]
    for (x, y), c in zip(points, colours):
        _dot(arr, x, y, c, r=4)
    box = [300 - 112.0, 220 - 112.0, 300 + 112.0, 220 + 112.0]
    crop = np.asarray(aligned_crop(Image.fromarray(arr), box, points.tolist(), margin=0.2, size=224))
    inner = 224 / 1.4
    want = (224 - inner) / 2 + TEMPLATE * inner / 112
    got = np.array([_centroid(crop, c) for c in colours])
    assert np.abs(got - want).max() < 2.0, (got, want)
    assert abs(got[0][1] - got[1][1]) < 1.5  # eyes level


def test_crop_face_aligns_only_when_given_landmarks() -> None:
    arr = np.random.default_rng(0).integers(0, 255, (200, 300, 3), np.uint8)
    img, box = Image.fromarray(arr), [100, 50, 180, 130]
    tilted = [[120, 80], [160, 95], [140, 105], [125, 120], [155, 130]]
    plain = np.asarray(crop_face(img, box, size=96))
    assert np.array_equal(plain, np.asarray(crop_face(img, box, size=96, landmarks=None)))
    assert not np.array_equal(plain, np.asarray(crop_face(img, box, size=96, landmarks=tilted)))


def test_aligned_crops_have_their_own_settings_key() -> None:
    from celebface.config import ExtractSettings, PrepareOptions

    plain, aligned = ExtractSettings(), PrepareOptions(align=True).extract
    assert aligned.align and aligned.key() == plain.key() + "-align"
    assert PrepareOptions().extract.key() == plain.key()  # work dirs prepared before keep their crops
