"""Who appears when, on videos composed from real photos whose truth is known (people on screen per interval).

The model knows Roger_Federer, Serena_Williams and Virat_Kohli from their first 16 photos; the videos use other
photos of them, plus a stranger from celeb5.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from celebface.io.video_compose import Shot, compose_video

DATASETS = Path(__file__).resolve().parents[2].parent / "shared" / "datasets"
SPORTS5, CELEB5 = DATASETS / "sports5", DATASETS / "celeb5"
FEDERER_A = SPORTS5 / "Roger_Federer" / "Federer_640.jpg"
FEDERER_B = SPORTS5 / "Roger_Federer" / "GettyImages-1151444330.jpg"
SERENA = SPORTS5 / "Serena_Williams" / "GettyImages-546039732.jpg"
KOHLI = SPORTS5 / "Virat_Kohli" / "3846bffc28.jpg"
STEP = 0.5  # --fps 2

#: (start, end, photos, who): Federer, nobody, Serena and Kohli side by side, a stranger, Federer again.
SCRIPT = [(0.0, 3.0, [FEDERER_A], ["Roger_Federer"]),
          (4.0, 7.0, [SERENA, KOHLI], ["Serena_Williams", "Virat_Kohli"]),
          (7.0, 9.0, [None], []),
          (9.0, 12.0, [FEDERER_B], ["Roger_Federer"])]


def stranger() -> Path:
    return sorted((CELEB5 / "Ben_Affleck").iterdir())[0]


def test_video_photos_were_not_trained_on() -> None:
    from celebface.io.images import is_image_name

    for photo in (FEDERER_A, FEDERER_B, SERENA, KOHLI):
        first16 = sorted(p for p in photo.parent.iterdir() if is_image_name(p))[:16]
        assert photo not in first16


@pytest.fixture(scope="module")
def rec(trained_model: Path):
    import celebface

    return celebface.load(trained_model)


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    shots = [Shot(s, e, [p or stranger() for p in photos], zoom=(1.0, 1.12) if s < 7 else (1.1, 1.0))
             for s, e, photos, _ in SCRIPT]
    return compose_video(shots, tmp_path_factory.mktemp("video") / "clip.mp4", size=(640, 360), fps=25)


@pytest.fixture(scope="module")
def result(rec, clip: Path):
    seen: list[tuple[float, float]] = []
    res = rec.predict_video(clip, fps=2, progress=lambda done, total: seen.append((done, total)))
    return res, seen


def truth_intervals(name: str) -> list[tuple[float, float]]:
    return [(s, e) for s, e, _, who in SCRIPT if name in who]


def test_names_and_intervals_within_one_sampling_step(result) -> None:
    res, _ = result
    assert res.error is None
    assert abs(res.duration - 12.0) < 0.1 and res.fps_sampled == 2.0
    got = {p.name: [(a.start, a.end) for a in p.appearances] for p in res.people}
    assert set(got) == {"Roger_Federer", "Serena_Williams", "Virat_Kohli"}
    for name, spans in got.items():
        truth = truth_intervals(name)
        assert len(spans) == len(truth), (name, spans)
        for (start, end), (t0, t1) in zip(spans, truth):
            # the first and last samples inside [t0, t1) are t0 and t1 - STEP
            assert abs(start - t0) <= STEP and abs(end - (t1 - STEP)) <= STEP, (name, spans, truth)


def test_stranger_stays_unknown_and_nobody_is_named_in_empty_frames(result) -> None:
    res, _ = result
    assert res.unknown_tracks >= 1
    for person in res.people:
        for a in person.appearances:
            assert a.end < 7.0 or a.start >= 9.0 - STEP  # nobody known named during the stranger's shot
            assert not (3.0 <= a.start < 4.0)  # nor in the empty second


def test_best_face_lies_in_its_appearance(result) -> None:
    res, _ = result
    for person in res.people:
        assert 0.5 < person.confidence <= 1.0
        for a in person.appearances:
            assert a.start <= a.best_time <= a.end and a.frames >= 4
            x1, y1, x2, y2 = a.best_box
            assert 0 <= x1 < x2 <= 640 and 0 <= y1 < y2 <= 360


def test_json_shape_and_progress(result) -> None:
    res, seen = result
    d = json.loads(res.model_dump_json())
    assert list(d) == ["video", "duration", "fps_sampled", "people", "unknown_tracks", "short_tracks",
                       "error"]
    assert list(d["people"][0]) == ["name", "confidence", "appearances"]
    assert list(d["people"][0]["appearances"][0]) == ["start", "end", "frames", "best_box", "best_time"]
    done = [s for s, _ in seen]
    assert len(seen) == 24 and done == sorted(done) and abs(seen[-1][1] - 12.0) < 0.1


def test_unreadable_video_gives_an_error_not_an_exception(rec, clip: Path, tmp_path: Path) -> None:
    data = clip.read_bytes()
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(data[: len(data) // 2])
    res = rec.predict_video(cut)
    assert res.error and "truncated" in res.error and res.people == []
    res = rec.predict_video(clip, max_duration=5)
    assert res.error and "--max-duration" in res.error


@pytest.fixture(scope="module")
def short_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """3 s of Serena, then 1 s of nobody."""
    return compose_video([Shot(0.0, 3.0, [SERENA]), Shot(3.0, 4.0, [])],
                         tmp_path_factory.mktemp("short") / "serena.mp4", size=(480, 270), fps=15)


def media_folder(folder: Path, clip: Path) -> Path:
    """A folder of a video (Serena), a photo (Kohli) and a file that is not a video."""
    folder.mkdir()
    (folder / "serena.mp4").symlink_to(clip)
    (folder / "kohli.jpg").symlink_to(KOHLI)
    (folder / "broken.mov").write_bytes(b"not a video at all")
    return folder


def test_cli_mixed_folder_json_and_annotated_copy(trained_model: Path, short_clip: Path, tmp_path: Path) -> None:
    from click.testing import CliRunner

    from celebface.cli import main
    from celebface.io.video import probe_video

    folder = media_folder(tmp_path / "media", short_clip)
    out = tmp_path / "annotated"
    res = CliRunner().invoke(main, ["predict", str(trained_model), str(folder), "--json", "--annotate", str(out)])
    assert res.exit_code == 0, res.output
    lines = [json.loads(line) for line in res.stdout.splitlines() if line.startswith("{")]
    photo, broken, video = lines  # photos first, then videos in name order
    assert photo["faces"][0]["name"] == "Virat_Kohli"
    assert broken["error"] and "not a readable video" in broken["error"] and broken["people"] == []
    assert [p["name"] for p in video["people"]] == ["Serena_Williams"]
    (a,) = video["people"][0]["appearances"]
    assert a["start"] == 0.0 and abs(a["end"] - 2.5) <= STEP
    info = probe_video(out / "serena.annotated.mp4")
    assert abs(info.duration - 4.0) < 0.2 and (info.width, info.height) == (480, 270)
    assert sorted(p.name for p in out.iterdir()) == ["kohli.annotated.jpg", "serena.annotated.mp4"]


def test_rest_video_job(trained_model: Path, rec, short_clip: Path) -> None:
    import time

    from fastapi.testclient import TestClient

    from celebface.service.app import create_app

    client = TestClient(create_app(rec, max_upload_bytes=2 * 1024 * 1024, allowed_hosts=("testserver",)))
    data = short_clip.read_bytes()
    r = client.post("/api/videos", files={"file": ("serena.mp4", data, "video/mp4")})
    assert r.status_code == 202, r.text
    job_id = r.json()["id"]
    deadline = time.monotonic() + 120
    while True:
        job = client.get(f"/api/videos/{job_id}").json()
        assert 0.0 <= job["progress"] <= 1.0
        if job["status"] in ("done", "failed") or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert job["status"] == "done", job
    assert job["result"]["video"] == "serena.mp4"
    assert [p["name"] for p in job["result"]["people"]] == ["Serena_Williams"]
    # bad uploads: clear errors, and the server goes on answering
    r = client.post("/api/videos", files={"file": ("x.mp4", b"\x00" * 5000, "video/mp4")})
    assert r.status_code == 415 and "x.mp4" in r.json()["detail"]
    r = client.post("/api/videos", files={"file": ("big.mp4", b"\x00" * (3 * 1024 * 1024), "video/mp4")})
    assert r.status_code == 413
    assert client.get("/api/videos/nope").status_code == 404
    assert client.get("/api/health").status_code == 200


def test_index_archives_videos_frame_by_frame(trained_model: Path, short_clip: Path, tmp_path: Path) -> None:
    """`index` on a folder of a photo, a video and a broken video: the video's faces get one row per sampled
    frame with its time, named as predict names the video; a rerun skips them; the broken one says why."""
    from celebface.faces.identity import get_identity
    from celebface.scale.index import IndexOptions, index, read_index

    folder = media_folder(tmp_path / "archive", short_clip)
    out = tmp_path / "index"
    s = index(trained_model, [str(folder)], str(out), IndexOptions("local", workers=1, shard_size=2))
    assert (s.photos, s.skipped) == (3, 0)
    rows = read_index(str(out)).to_pylist()
    by_file = {name: [r for r in rows if r["path"] == str((folder / name).resolve())]  # links are followed
               for name in ("serena.mp4", "kohli.jpg", "broken.mov")}
    (photo,) = by_file["kohli.jpg"]
    assert photo["time"] is None and photo["name"] == "Virat_Kohli"
    (broken,) = by_file["broken.mov"]
    assert broken["status"] == "unreadable" and "not a readable video" in broken["error"]
    frames = sorted(by_file["serena.mp4"], key=lambda r: r["time"])
    dim = get_identity(json.loads((trained_model / "current" / "config.json").read_text())["identity"]).dim
    assert all(r["status"] == "ok" and len(r["embedding"]) == dim for r in frames)  # the model's identity vectors
    times = [r["time"] for r in frames]
    assert times[0] == 0.0 and all(t <= 3.0 for t in times)  # Serena is on screen for the first 3 s only
    assert len(times) >= 5 and all(b - a == pytest.approx(STEP, abs=0.01) for a, b in zip(times, times[1:]))
    assert sum(r["name"] == "Serena_Williams" for r in frames) >= len(frames) - 1
    again = index(trained_model, [str(folder)], str(out), IndexOptions("local", workers=1, shard_size=2))
    assert (again.skipped, again.shards) == (3, 0)


def test_index_cuts_a_long_video_into_parts_with_the_same_rows(trained_model: Path, short_clip: Path,
                                                              tmp_path: Path) -> None:
    """A video indexed in parts of 1.5 s (three tasks) gives the rows of the same video indexed whole."""
    from celebface.scale.index import IndexOptions, index, read_index

    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "serena.mp4").symlink_to(short_clip)

    def rows(segment: float, out: str) -> list[dict]:
        index(trained_model, [str(tmp_path / "a")], str(tmp_path / out),
              IndexOptions("local", workers=2, shard_size=2, segment=segment))
        return sorted(read_index(str(tmp_path / out)).to_pylist(), key=lambda r: (r["time"], r["face"]))

    whole, parts = rows(0, "whole"), rows(1.5, "parts")
    assert len(whole) >= 5 and {r["segment"] for r in whole} == {None}
    assert {0.0, 1.5} <= {r["segment"] for r in parts} <= {0.0, 1.5, 3.0}  # the last part (nobody) has no row
    keys = ("time", "face", "name", "status", "sha256")
    assert [tuple(r[k] for k in keys) for r in parts] == [tuple(r[k] for k in keys) for r in whole]
    assert all(np.allclose(a["box"], b["box"]) and np.allclose(a["embedding"], b["embedding"], atol=1e-5)
               for a, b in zip(parts, whole))
