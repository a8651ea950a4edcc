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


def test_face_round_trips_through_dict() -> None:
    f = Face([1.234, 2.0, 30.0, 40.0], 0.98765432, [[1.0, 2.0]] * 5)
    g = Face.from_dict(f.to_dict())
    assert g.box == [1.2, 2.0, 30.0, 40.0] and g.prob == 0.98765 and len(g.landmarks) == 5
