"""Labels on annotated photos never overlap one another or other faces, even in a crowd."""
from __future__ import annotations

from PIL import Image

from celebface.recognition.annotate import GREY, _label, annotate, layout_labels, legend_lines
from celebface.types import FaceResult, PhotoResult


def overlap(a, b) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def row_of_faces(n: int, side: int = 30, gap: int = 2) -> list[list[float]]:
    return [[10 + i * (side + gap), 40.0, 10 + i * (side + gap) + side, 40.0 + side] for i in range(n)]


def test_crowded_labels_never_overlap_and_some_become_numbers() -> None:
    boxes = row_of_faces(11)
    spots = layout_labels(boxes, [(110, 14)] * len(boxes), (400, 120))
    placed = [s for s in spots if s is not None]
    assert 0 < len(placed) < len(boxes)  # a few long labels fit, the rest are numbered
    for i, a in enumerate(placed):
        assert not any(overlap(a, b) for b in placed[i + 1:])
    for k, s in enumerate(spots):
        if s is not None:
            assert not any(overlap(s, b) for j, b in enumerate(boxes) if j != k)


def test_spread_out_faces_all_get_labels() -> None:
    boxes = [[20, 50, 60, 90], [300, 50, 340, 90]]
    assert all(layout_labels(boxes, [(60, 14)] * 2, (400, 120)))


def test_annotate_adds_a_legend_only_when_crowded() -> None:
    img = Image.new("RGB", (400, 120))
    faces = [FaceResult(box=b, detector_prob=0.99, name=f"Person_Number_{i}", confidence=0.9, score=0.9, top=[], quality=0.9)
             for i, b in enumerate(row_of_faces(11))]
    assert annotate(img, PhotoResult(image="c", width=400, height=120, faces=faces)).height > 120
    two = PhotoResult(image="t", width=400, height=120, faces=[
        FaceResult(box=[20, 50, 60, 90], detector_prob=0.99, name="Ada", confidence=0.9, score=0.9, top=[], quality=0.9),
        FaceResult(box=[300, 50, 340, 90], detector_prob=0.99, name="unknown", confidence=0.4, score=0.2, top=[], quality=0.9)])
    out = annotate(img, two)
    assert out.size == img.size
    assert out.getpixel((22, 47))[1] > 150 and out.getpixel((302, 47))[0] > 200  # green known, red unknown


def test_boxes_of_a_reduced_copy_are_scaled() -> None:
    img = Image.new("RGB", (200, 60))  # a half-size working copy of a 400x120 photo
    result = PhotoResult(image="x", width=400, height=120, faces=[
        FaceResult(box=[100, 40, 180, 110], detector_prob=0.99, name="Ada", confidence=0.9, score=0.9, top=[], quality=0.9)])
    assert annotate(img, result).getpixel((50, 35))[1] > 150  # the box is drawn at half the coordinates


def test_faces_without_a_name_get_a_grey_box_no_label_and_one_count_in_the_legend() -> None:
    img = Image.new("RGB", (400, 120))
    result = PhotoResult(image="q", width=400, height=120, faces=[
        FaceResult(box=[20, 50, 60, 90], detector_prob=0.95, name=None, reason="not a face", confidence=0.0,
                   score=0.0, top=[], quality=0.2),
        FaceResult(box=[300, 50, 340, 90], detector_prob=0.95, name=None, reason="too small", confidence=0.0,
                   score=0.0, top=[], quality=0.2)])
    assert _label(result.faces[0]) == "? (not a face)"  # what `predict` prints for it
    out = annotate(img, result)
    r, g, b = out.getpixel((20, 70))
    assert r == g == b and r > 100  # a grey box, neither the green of a name nor the red of "unknown"
    assert out.getpixel((22, 44)) == (0, 0, 0)  # and no label above it
    assert legend_lines([], 2) == [("2 faces without a name", GREY)]
    assert out.height > img.height  # the legend's one line
