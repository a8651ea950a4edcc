"""`--precision bf16` where the hardware has no bf16 units: predict, index, serve and train say so on stderr (bf16
is emulated there and several times slower than fp32), and say nothing where bf16 runs in hardware or fp32 is asked
for."""
from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from celebface import runtime
from celebface.cli import main


@pytest.fixture
def no_bf16_units(monkeypatch, tmp_path: Path):
    (tmp_path / "model").mkdir()  # predict checks its photos first: no model is loaded
    monkeypatch.setattr(runtime, "bf16_is_fast", lambda device: False)
    monkeypatch.setenv(runtime.ENV_PRECISION, "fp32")  # the commands set it: restored after the test


def test_warning_only_for_bf16_without_hardware(monkeypatch) -> None:
    monkeypatch.setattr(runtime, "bf16_is_fast", lambda device: False)
    note = runtime.precision_warning("bf16", "cpu")
    assert note and "AVX512-BF16 or AMX" in note and "auto" in note
    for asked in ("auto", "fp32", None, ""):
        assert runtime.precision_warning(asked, "cpu") is None
    monkeypatch.setattr(runtime, "bf16_is_fast", lambda device: True)
    assert runtime.precision_warning("bf16", "cpu") is None


def test_predict_warns_on_stderr(no_bf16_units, tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["predict", str(tmp_path / "model"), str(tmp_path / "missing.jpg"),
                                       "--precision", "bf16", "--device", "cpu"])
    assert result.exit_code != 0  # no photo there: the command still stops with its own error
    assert "warning: --precision bf16" in result.stderr and "missing.jpg" in result.stderr, result.output
    assert "Traceback" not in result.output


def test_no_warning_for_the_default_precision(no_bf16_units, tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["predict", str(tmp_path / "model"), str(tmp_path / "missing.jpg"),
                                       "--device", "cpu"])
    assert result.exit_code != 0 and "missing.jpg" in result.stderr and "warning:" not in result.stderr


def test_train_warns_too(no_bf16_units, tmp_path: Path) -> None:
    (tmp_path / "work").mkdir()
    result = CliRunner().invoke(main, ["train", str(tmp_path / "work"), "--out", str(tmp_path / "out"),
                                       "--precision", "bf16", "--device", "cpu"])
    assert result.exit_code != 0  # an empty work folder: train stops with its own error
    assert "warning: --precision bf16" in result.stderr and "Traceback" not in result.output
