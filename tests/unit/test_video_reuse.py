"""Carrying a track's embedding over to the next frame (video_reuse.py) and the one-frame-track rule, on real
face crops from the sample data (no models)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from celebface.recognition.tracking import FaceObservation, Track
from celebface.recognition.video import _Timeline
from celebface.recognition.video_reuse import ReuseOptions, carried_over, continued, look
from celebface.types import Face

GLINT = Path(__file__).resolve().parents[3] / "shared" / "datasets" / "glint12"


def _photos(person_index: int, n: int) -> list[Image.Image]:
    folder = sorted(p for p in GLINT.iterdir() if p.is_dir())[person_index]
    return [Image.open(p).convert("RGB") for p in sorted(folder.iterdir())[:n]]


@pytest.fixture(scope="module")
def crops() -> dict[str, list[Image.Image]]:
    if not GLINT.is_dir():
        pytest.skip("sample data not found")
    return {"a": _photos(0, 2), "b": _photos(1, 1)}


def _obs(t: float, box: list[float], crop: Image.Image, name: str = "ann") -> FaceObservation:
    return FaceObservation(time=t, box=box, embedding=np.ones(4) / 2, name=name, confidence=0.9, score=0.95,
                           embedded_at=t, look=look(crop))


def _face(box: list[float]) -> Face:
    return Face(box=box, prob=0.99, landmarks=[])


def test_the_same_crop_moved_a_little_is_carried_over(crops) -> None:
    a = crops["a"][0]
    shifted = a.transform(a.size, Image.AFFINE, (1, 0, 2, 0, 1, 1))  # two pixels left, one up
    prev = _obs(0.0, [100, 100, 200, 200], a)
    got = carried_over([_face([104, 102, 204, 202])], [look(shifted)], [prev], 0.5, ReuseOptions())
    assert got == [prev]
    moved = continued(prev, 0.5, [104, 102, 204, 202])
    assert moved.time == 0.5 and moved.embedded_at == 0.0 and moved.name == "ann"


def test_someone_else_at_the_same_place_is_embedded_again(crops) -> None:
    prev = _obs(0.0, [100, 100, 200, 200], crops["a"][0])
    got = carried_over([_face([100, 100, 200, 200])], [look(crops["b"][0])], [prev], 0.5, ReuseOptions())
    assert got == [None]


def test_reuse_expires_and_needs_overlap(crops) -> None:
    a = crops["a"][0]
    prev = _obs(0.0, [100, 100, 200, 200], a)
    assert carried_over([_face([100, 100, 200, 200])], [look(a)], [prev], 1.0, ReuseOptions(reembed=1.0)) == [None]
    assert carried_over([_face([300, 100, 400, 200])], [look(a)], [prev], 0.5, ReuseOptions()) == [None]
    assert carried_over([_face([100, 100, 200, 200])], [look(a)], [prev], 0.5, ReuseOptions(reembed=0)) == [None]


def test_one_previous_face_is_carried_to_one_face_only(crops) -> None:
    a = crops["a"][0]
    prev = _obs(0.0, [100, 100, 200, 200], a)
    got = carried_over([_face([100, 100, 200, 200]), _face([102, 100, 202, 200])], [look(a), look(a)], [prev], 0.5,
                       ReuseOptions())
    assert got == [prev, None]


def test_tracks_seen_in_one_frame_are_not_named(crops) -> None:
    a = crops["a"][0]
    one, two = Track(), Track()
    one.add(_obs(0.0, [0, 0, 10, 10], a, "bob"))
    for t in (0.0, 0.5):
        two.add(_obs(t, [0, 0, 10, 10], a, "ann"))
    timeline = _Timeline(keep_tracks=True, min_frames=2)
    timeline.add([one, two])
    assert list(timeline.spans) == ["ann"] and timeline.short == 1 and timeline.unknown == 0
    assert [t.name for t in timeline.tracks] == ["unknown", "ann"]
