"""A FIFO (or a symlink to one) given as a path is refused at once with a per-file error; it never blocks."""
from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from celebface.errors import ImageError, VideoError

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def fifo(tmp_path) -> Path:
    path = tmp_path / "pipe.jpg"
    os.mkfifo(path)
    yield path
    try:  # release a reader that blocked (only on a failure): a writer opening and closing gives it EOF
        os.close(os.open(path, os.O_WRONLY | os.O_NONBLOCK))
    except OSError:
        pass


def returns_within(fn, seconds: float = 20.0):
    """fn()'s result or exception, or a failure if it is still blocked after `seconds`."""
    out: dict = {}

    def target() -> None:
        try:
            out["value"] = fn()
        except BaseException as exc:  # noqa: BLE001 - handed to the test
            out["error"] = exc

    t = threading.Thread(target=target, daemon=True)
    t.start()
    t.join(seconds)
    assert not t.is_alive(), f"still blocked after {seconds} s"
    return out


def test_load_image_refuses_a_fifo_and_a_link_to_one(fifo):
    from celebface.io.images import load_image

    link = fifo.with_name("link.jpg")
    link.symlink_to(fifo)
    for path in (fifo, link, str(fifo)):
        out = returns_within(lambda: load_image(path))
        assert isinstance(out.get("error"), ImageError) and "FIFO" in str(out["error"])


def test_a_video_path_that_is_a_fifo_is_refused(tmp_path):
    from celebface.io.video import probe_video

    path = tmp_path / "clip.mp4"
    os.mkfifo(path)
    out = returns_within(lambda: probe_video(path))
    assert isinstance(out.get("error"), VideoError) and "FIFO" in str(out["error"])


def cli(*args, timeout: float = 120):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "celebface", *map(str, args)], capture_output=True, text=True,
                          timeout=timeout, env=env, stdin=subprocess.DEVNULL)


@pytest.fixture
def empty_model(tmp_path) -> Path:
    from celebface.recognition.bundle import save_bundle
    from celebface.recognition.init_model import empty_bundle

    save_bundle(empty_bundle(), tmp_path / "model")
    return tmp_path / "model"


def test_cli_commands_given_a_fifo_answer_at_once(fifo, empty_model, tmp_path):
    """predict (per-file error), enroll, compare and cluster: each ends (the timeout fails the test if not)."""
    out = cli("predict", empty_model, fifo, tmp_path / "missing.jpg")
    assert "FIFO" in out.stdout, out.stdout + out.stderr
    out = cli("enroll", empty_model, fifo, "--name", "Ann")
    assert out.returncode == 2 and "FIFO" in out.stderr
    out = cli("compare", fifo, fifo)
    assert out.returncode == 2 and "FIFO" in out.stderr
    out = cli("cluster", fifo, "--out", tmp_path / "clusters", "--min-faces", "1")
    assert out.returncode == 2 and "pipe.jpg: a FIFO" in out.stderr, out.stdout + out.stderr


def test_predict_exits_2_when_no_path_given_exists(empty_model, tmp_path):
    """`predict MODEL /nope` exited 0; with one path that exists, each missing one gets its per-file error."""
    from click.testing import CliRunner

    from celebface.cli import main

    none = CliRunner().invoke(main, ["predict", str(empty_model), str(tmp_path / "nope"), str(tmp_path / "nah.jpg")])
    assert none.exit_code == 2 and "no such file or folder" in none.output, none.output
    blank = tmp_path / "blank.png"
    from PIL import Image

    Image.new("RGB", (64, 64), "white").save(blank)
    some = CliRunner().invoke(main, ["predict", str(empty_model), str(blank), str(tmp_path / "nope.jpg")])
    assert some.exit_code == 0 and "nope.jpg: error" in some.output and "blank.png: no face" in some.output
