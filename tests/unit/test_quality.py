"""Face quality (faces/quality.py) on synthetic inputs, and how crops are padded and boxes clipped (faces/align.py)."""
from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageFilter

from celebface import config
from celebface.faces.align import clip_box, crop_face, inside_share
from celebface.faces.quality import (NOT_A_FACE, TOO_BLURRED, TOO_SMALL, FaceFeatures, blur_ratio, face_geometry,
                                     inside_larger, judge)
from celebface.types import FaceResult

BOX = [100.0, 100.0, 200.0, 220.0]
#: A frontal face in BOX: eyes, nose, mouth corners (MTCNN's order).
FRONTAL = [[130.0, 145.0], [170.0, 145.0], [150.0, 170.0], [134.0, 192.0], [166.0, 192.0]]


def rotate(points: list[list[float]], degrees: float) -> list[list[float]]:
    a = np.radians(degrees)
    r = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
    c = np.array([150.0, 160.0])
    return ((np.asarray(points) - c) @ r.T + c).tolist()


def good(**kw) -> FaceFeatures:
    base = dict(side=config.QUALITY_MIN_SIDE[1], prob=config.QUALITY_MIN_PROB[1], geometry=config.QUALITY_GEOMETRY[1],
                sharpness=config.QUALITY_SHARPNESS[1], recheck=config.QUALITY_RECHECK[1], inside_other=0.0)
    return FaceFeatures(**{**base, **kw})


def test_a_frontal_face_has_plausible_geometry_also_when_tilted() -> None:
    assert face_geometry(FRONTAL, BOX) == pytest.approx(1.0)
    assert face_geometry(rotate(FRONTAL, 30), BOX) == pytest.approx(1.0)


def test_impossible_landmarks_have_no_geometry() -> None:
    upside = [FRONTAL[3], FRONTAL[4], FRONTAL[2], FRONTAL[0], FRONTAL[1]]  # mouth above the eyes
    assert face_geometry(upside, BOX) <= 0
    nose_below_mouth = [FRONTAL[0], FRONTAL[1], [150.0, 205.0], FRONTAL[3], FRONTAL[4]]
    assert face_geometry(nose_below_mouth, BOX) <= 0
    eyes_together = [[149.0, 145.0], [151.0, 145.0], *FRONTAL[2:]]
    assert face_geometry(eyes_together, BOX) < 0.2
    assert face_geometry([], BOX) == 0.0


def test_each_feature_below_its_threshold_gives_its_reason() -> None:
    assert judge(good()).ok and judge(good()).score == 1.0
    cases = {TOO_SMALL: dict(side=config.QUALITY_MIN_SIDE[0] - 1), NOT_A_FACE: dict(recheck=0.0),
             TOO_BLURRED: dict(sharpness=config.QUALITY_SHARPNESS[0] * 0.9)}
    for reason, change in cases.items():
        q = judge(good(**change))
        assert q.reason == reason and q.score < config.QUALITY_MIN
    assert judge(good(geometry=-0.5)).reason == NOT_A_FACE
    assert judge(good(inside_other=1.0)).reason == NOT_A_FACE
    assert judge(good(prob=0.5)).reason == NOT_A_FACE


def test_score_is_half_at_the_threshold_and_the_face_is_kept() -> None:
    q = judge(good(side=config.QUALITY_MIN_SIDE[0]))
    assert q.score == pytest.approx(0.5) and q.ok


def test_a_box_inside_a_larger_face_is_part_of_it() -> None:
    assert inside_larger([120, 160, 180, 220], [BOX]) == pytest.approx(1.0)
    assert inside_larger(BOX, [[120, 160, 180, 220]]) == 0.0  # the smaller one does not swallow the larger
    assert inside_larger(BOX, [[300, 300, 420, 420]]) == 0.0


def test_blur_lowers_the_sharpness_ratio() -> None:
    rng = np.random.default_rng(0)
    sharp = Image.fromarray(rng.integers(0, 255, (256, 256, 3), dtype=np.uint8)).resize((256, 256))
    smooth = sharp.filter(ImageFilter.GaussianBlur(6))
    box = [32.0, 32.0, 224.0, 224.0]
    assert blur_ratio(sharp, box) > 5 * blur_ratio(smooth, box)
    assert blur_ratio(Image.new("RGB", (64, 64), (90, 90, 90)), [0, 0, 64, 64]) == 0.0  # flat: no detail at all


def left_edge_photo() -> Image.Image:
    arr = np.zeros((100, 100, 3), np.uint8)
    arr[:, :10] = (250, 10, 10)  # a red strip on the left edge
    arr[:, 10:20] = (10, 250, 10)  # then green
    return Image.fromarray(arr)


@pytest.mark.parametrize("pad", ["constant", "reflect", "edge"])
def test_crops_of_faces_cut_by_the_edge_are_padded_as_asked(pad: str) -> None:
    crop = np.asarray(crop_face(left_edge_photo(), [-20, 30, 20, 70], margin=0.0, size=40, pad=pad))
    outside, inside = crop[:, :20], crop[:, 20:]
    assert (inside[:, :10] == (250, 10, 10)).all()  # the photo's own pixels are where they were
    if pad == "constant":
        assert (outside == config.PAD_FILL).all()
    elif pad == "edge":
        assert (outside == (250, 10, 10)).all()
    else:  # mirrored: red next to the edge, then green
        assert (outside[:, 10:] == (250, 10, 10)).all() and (outside[:, :10] == (10, 250, 10)).all()


def test_unknown_padding_is_refused() -> None:
    with pytest.raises(ValueError):
        crop_face(left_edge_photo(), [0, 0, 10, 10], pad="wrap")


def test_boxes_are_clipped_to_the_photo() -> None:
    assert clip_box([-89.5, 10, 120, 769], 551, 400) == [0.0, 10, 120, 400]
    assert inside_share([-50, 0, 50, 100], 200, 200) == pytest.approx(0.5)
    assert inside_share([0, 0, 50, 50], 200, 200) == 1.0


def test_a_face_too_poor_to_name_has_name_null_in_json() -> None:
    f = FaceResult(box=[0, 0, 10, 10], detector_prob=0.95, name=None, reason=NOT_A_FACE, confidence=0.0, score=0.0,
                   top=[], quality=0.1)
    assert '"name":null' in f.model_dump_json() and '"reason":"not a face"' in f.model_dump_json()
