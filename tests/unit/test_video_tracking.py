"""Tracking and interval merging on synthetic boxes and embeddings (no models, no datasets)."""
from __future__ import annotations

import numpy as np

from celebface.recognition.tracking import (UNKNOWN, Appearance, FaceObservation, LinkOptions, Tracker, iou,
                                            merge_appearances, name_track)

RNG = np.random.default_rng(0)


def unit(v: np.ndarray) -> np.ndarray:
    return v / np.linalg.norm(v)


PEOPLE = {name: unit(RNG.normal(size=128)) for name in ("ann", "bob", "cy")}


def face(t: float, who: str, box: list[float], name: str | None = None, noise: float = 0.15,
         score: float = 0.9) -> FaceObservation:
    emb = unit(PEOPLE[who] + noise * unit(RNG.normal(size=128)))
    return FaceObservation(time=t, box=box, embedding=emb, name=name or who, confidence=0.9, score=score)


def run(frames: list[tuple[float, list[FaceObservation]]], opts: LinkOptions | None = None):
    tracker = Tracker(opts)
    tracks = []
    for t, faces in frames:
        tracks += tracker.update(t, faces)
    return tracks + tracker.finish()


def test_iou() -> None:
    assert iou([0, 0, 10, 10], [0, 0, 10, 10]) == 1.0
    assert iou([0, 0, 10, 10], [20, 20, 30, 30]) == 0.0
    assert abs(iou([0, 0, 10, 10], [5, 0, 15, 10]) - 50 / 150) < 1e-9


def test_two_people_crossing_keep_their_tracks() -> None:
    # ann moves right, bob moves left; they swap sides over 4 s, sampled at 2 fps
    frames = []
    for k in range(9):
        t = k * 0.5
        x = 20 * k
        frames.append((t, [face(t, "ann", [x, 0, x + 60, 60]), face(t, "bob", [180 - x, 0, 240 - x, 60])]))
    tracks = run(frames)
    assert len(tracks) == 2
    for tr in tracks:
        assert len(tr.faces) == 9
        assert len({f.name for f in tr.faces}) == 1


def test_cut_to_another_person_in_the_same_place_starts_a_new_track() -> None:
    box = [100, 50, 200, 150]
    frames = [(k * 0.5, [face(k * 0.5, "ann" if k < 4 else "bob", box)]) for k in range(8)]
    tracks = run(frames)
    assert [(tr.start, tr.end) for tr in tracks] == [(0.0, 1.5), (2.0, 3.5)]


def test_cut_between_unknown_faces_is_split_by_embedding() -> None:
    box = [100, 50, 200, 150]
    frames = [(k * 0.5, [face(k * 0.5, "ann" if k < 4 else "cy", box, name=UNKNOWN)]) for k in range(8)]
    assert len(run(frames)) == 2


def test_track_ends_after_gap_and_a_flicker_does_not_change_its_name() -> None:
    box = [0, 0, 50, 50]
    frames = [(k * 0.5, [face(k * 0.5, "ann", box, name="bob" if k == 2 else None)]) for k in range(6)]
    frames += [(5.0 + k * 0.5, [face(5.0 + k * 0.5, "ann", box)]) for k in range(2)]
    tracks = run(frames, LinkOptions(max_gap=1.0))
    assert [(tr.start, tr.end) for tr in tracks] == [(0.0, 2.5), (5.0, 5.5)]
    ident = name_track(tracks[0])
    assert ident.name == "ann"
    assert 0 < ident.confidence < 0.9  # the one dissenting face lowers it


def test_stranger_track_stays_unknown() -> None:
    box = [0, 0, 50, 50]
    names = [UNKNOWN, UNKNOWN, "bob", UNKNOWN, UNKNOWN]
    frames = [(k * 0.5, [face(k * 0.5, "cy", box, name=n, score=0.3)]) for k, n in enumerate(names)]
    (track,) = run(frames)
    assert name_track(track).name == UNKNOWN


def span(start: float, end: float, frames: int, score: float = 0.5) -> Appearance:
    return Appearance(start=start, end=end, frames=frames, best_box=[0, 0, 1, 1], best_time=start,
                      best_score=score, confidence_sum=0.9 * frames)


def test_merge_appearances_joins_short_gaps_only() -> None:
    merged = merge_appearances([span(5.0, 6.0, 3, 0.9), span(0.0, 2.0, 5), span(2.5, 3.0, 2), span(3.0, 3.5, 1)],
                               max_gap=1.0)
    assert [(a.start, a.end, a.frames) for a in merged] == [(0.0, 3.5, 8), (5.0, 6.0, 3)]
    merged = merge_appearances([span(0.0, 2.0, 5), span(5.0, 6.0, 3, 0.9)], max_gap=3.0)
    assert [(a.start, a.end, a.frames, a.best_time) for a in merged] == [(0.0, 6.0, 8, 5.0)]
    assert merge_appearances([], 1.0) == []
