"""Progress bars: a bar on a terminal; in a log or a pipe, one line per stage instead of carriage-return updates."""
from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

from PIL import Image

from celebface.runtime import progress_bar

ROOT = Path(__file__).resolve().parents[2]


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_log_gets_one_line_per_stage_and_a_terminal_gets_a_bar():
    log = io.StringIO()
    for _ in progress_bar(range(300), desc="faces", unit="photo", file=log, mininterval=0):
        pass
    quiet = progress_bar(total=3, desc="epoch 1", file=log, leave=False)  # a stage that reports itself
    quiet.update(3)
    quiet.close()
    assert "\r" not in log.getvalue() and log.getvalue().count("\n") == 1
    assert log.getvalue().startswith("faces: 100%") and "300/300" in log.getvalue()
    tty = Terminal()
    for _ in progress_bar(range(300), desc="faces", file=tty, mininterval=0):
        pass
    assert tty.getvalue().count("\r") > 10  # a live bar where someone watches it
    off = io.StringIO()
    for _ in progress_bar(range(3), file=off, disable=True):
        pass
    assert off.getvalue() == ""


def test_cluster_writes_one_line_per_stage_into_a_log(tmp_path):
    """`celebface cluster ... 2> log`: before, one carriage-return update per photo."""
    for i in range(6):
        Image.new("RGB", (96, 96), (40 * i, 90, 120)).save(tmp_path / f"p{i}.png")
    out = subprocess.run([sys.executable, "-m", "celebface", "cluster", str(tmp_path), "--out", str(tmp_path / "c"),
                          "--min-faces", "1"], capture_output=True, text=True, timeout=300,
                         env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert out.returncode == 0, out.stderr
    assert "\r" not in out.stderr, out.stderr
    assert [line for line in out.stderr.splitlines() if line.startswith("faces")] == [
        next(line for line in out.stderr.splitlines() if line.startswith("faces: 100%"))]
