"""Decoding synthetic videos: timestamps (variable frame rate), rotation, seeking, downscaling, bad files."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from celebface.errors import VideoError
from celebface.io.video import is_video_name, probe_video, read_frames
from celebface.io.video_writer import VideoWriter


def grey(level: int, size: tuple[int, int] = (64, 48)) -> np.ndarray:
    return np.full((size[1], size[0], 3), level, np.uint8)


def level(img) -> float:
    return float(np.asarray(img)[..., 0].mean())


def test_variable_frame_rate_is_sampled_by_time(tmp_path: Path) -> None:
    # irregular frame times; each frame's grey level encodes its own time (40 per second)
    times = [0.0, 0.1, 0.15, 0.9, 1.0, 1.6, 2.5, 2.55, 2.6, 3.9]
    path = tmp_path / "vfr.mp4"
    with VideoWriter(path, 30, (64, 48)) as w:
        for t in times:
            w.write(grey(int(t * 40)), time=t)
    got = [(f.time, level(f.image) / 40) for f in read_frames(path, fps=2)]
    assert [t for t, _ in got][:8] == [0.0, 0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 3.5]
    # each sample is the frame on screen at that instant: the last one shown at or before it
    expected = [0.0, 0.15, 1.0, 1.0, 1.6, 2.5, 2.6, 2.6]
    for (_, shown), want in zip(got, expected):
        assert abs(shown - want) < 0.1


def test_rotation_metadata_is_applied(tmp_path: Path) -> None:
    path = tmp_path / "rot.mp4"
    frame = np.zeros((32, 64, 3), np.uint8)
    frame[:, :8] = 255  # a white stripe on the left of the stored frame
    with VideoWriter(path, 10, (64, 32), rotation=90) as w:
        for _ in range(10):
            w.write(frame)
    info = probe_video(path)
    assert (info.width, info.height, info.rotation) == (32, 64, 90)
    img = np.asarray(next(read_frames(path)).image)
    assert img.shape[:2] == (64, 32)  # shown upright: portrait
    assert img[-6:, :, 0].mean() > 200 and img[:20, :, 0].mean() < 50  # turned 90 degrees counter-clockwise


def test_sparse_sampling_seeks_to_the_right_frames(tmp_path: Path) -> None:
    path = tmp_path / "long.mp4"
    with VideoWriter(path, 10, (64, 48), options={"preset": "ultrafast", "g": "20"}) as w:
        for i in range(10 * 30):
            w.write(grey(i // 10 * 8))  # level = 8 x the second
    got = [(f.time, level(f.image) / 8) for f in read_frames(path, fps=0.2)]
    assert [t for t, _ in got] == [0.0, 5.0, 10.0, 15.0, 20.0, 25.0]
    for t, second in got:
        assert abs(second - t) < 0.5


def test_8k_frames_are_scaled_down(tmp_path: Path) -> None:
    path = tmp_path / "8k.mp4"
    with VideoWriter(path, 5, (7680, 4320), options={"preset": "ultrafast"}) as w:
        w.write(grey(100, (7680, 4320)))
    frames = list(read_frames(path, fps=2))
    assert frames and frames[0].image.size == (1920, 1080)


def test_ten_hour_video_is_refused_from_its_header(tmp_path: Path) -> None:
    path = tmp_path / "ten_hours.mp4"
    with VideoWriter(path, 1, (64, 48)) as w:  # two frames, ten hours apart: a tiny file
        w.write(grey(0), time=0.0)
        w.write(grey(50), time=36000.0)
    assert probe_video(path, max_duration=40000).duration > 35000
    with pytest.raises(VideoError, match="over the 10,800 s limit.*--max-duration"):
        next(read_frames(path))


def test_bad_files_give_video_errors(tmp_path: Path) -> None:
    good = tmp_path / "good.mp4"
    with VideoWriter(good, 25, (64, 48)) as w:
        for i in range(250):
            w.write(grey(i % 255))
    data = good.read_bytes()
    cut = tmp_path / "truncated.mp4"
    cut.write_bytes(data[: len(data) // 2])
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(b"\x00" * 1000)
    empty = tmp_path / "empty.mp4"
    empty.write_bytes(b"")
    for path in (cut, junk, empty, tmp_path / "missing.mp4"):
        with pytest.raises(VideoError):
            list(read_frames(path))
    with pytest.raises(VideoError, match="max-duration"):
        probe_video(good, max_duration=5)
    with pytest.raises(VideoError, match="fps"):
        list(read_frames(good, fps=0))


def test_audio_only_and_zero_frame_files_are_refused(tmp_path: Path) -> None:
    import av

    audio = tmp_path / "audio.m4a"
    with av.open(str(audio), "w") as c:
        s = c.add_stream("aac", rate=16000)
        t = np.arange(16000, dtype=np.float32) / 16000
        frame = av.AudioFrame.from_ndarray(np.sin(2 * np.pi * 440 * t)[None, :].astype(np.float32), format="fltp",
                                           layout="mono")
        frame.sample_rate = 16000
        for p in s.encode(frame):
            c.mux(p)
        for p in s.encode():
            c.mux(p)
    with pytest.raises(VideoError, match="no video stream"):
        probe_video(audio)
    zero = tmp_path / "zero.mp4"
    with av.open(str(zero), "w") as c:
        s = c.add_stream("libx264", rate=25)
        s.width, s.height, s.pix_fmt = 64, 48, "yuv420p"
    with pytest.raises(VideoError):
        list(read_frames(zero))


def test_video_names() -> None:
    assert is_video_name("a/clip.MP4") and is_video_name("x.webm") and is_video_name("y.mov")
    assert not is_video_name("photo.jpg") and not is_video_name(".hidden.mp4")


@pytest.mark.parametrize("fps", [2.0, 3.0, 0.2])
def test_a_video_read_in_parts_gives_the_frames_of_the_whole_read(tmp_path: Path, fps: float) -> None:
    from celebface.scale.parts import TO_END, video_spans

    path = tmp_path / "parts.mp4"
    with VideoWriter(path, 10, (64, 48), options={"preset": "ultrafast", "g": "20"}) as w:
        for i in range(10 * 23):
            w.write(grey(i % 250))  # every frame its own level
    whole = [(f.time, np.asarray(f.image)) for f in read_frames(path, fps=fps)]
    spans = video_spans(str(path), 7.3)
    assert spans == [(0.0, 7.3), (7.3, 14.6), (14.6, 21.9), (21.9, TO_END)]
    parts = [(f.time, np.asarray(f.image)) for a, b in spans
             for f in read_frames(path, fps=fps, start=a, end=None if b == TO_END else b)]
    assert [t for t, _ in parts] == [t for t, _ in whole]
    assert all(np.array_equal(x, y) for (_, x), (_, y) in zip(parts, whole))
    assert video_spans(str(path), 30.0) == video_spans(str(path), 0) == [(0.0, TO_END)]
