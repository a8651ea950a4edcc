"""Every bad option value is refused by click before any work: one line naming the option, exit code 2."""
from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from celebface.cli import main


@pytest.fixture
def dirs(tmp_path: Path) -> dict[str, str]:
    for name in ("data", "work", "model"):
        (tmp_path / name).mkdir()
    return {k: str(tmp_path / k) for k in ("data", "work", "model")} | {"out": str(tmp_path / "out")}


BAD = [
    (["train", "{work}", "--out", "{out}", "--epochs1", "-1"], "--epochs1"),
    (["train", "{work}", "--out", "{out}", "--lr1", "-1"], "--lr1"),
    (["train", "{work}", "--out", "{out}", "--lr2", "0"], "--lr2"),
    (["train", "{work}", "--out", "{out}", "--batch-size", "-4"], "--batch-size"),
    (["train", "{work}", "--out", "{out}", "--batch-size", "0"], "--batch-size"),
    (["train", "{work}", "--out", "{out}", "--threads", "-1"], "--threads"),
    (["train", "{work}", "--out", "{out}", "--patience2", "0"], "--patience2"),
    (["train", "{work}", "--out", "{out}", "--device", "tpu"], "--device"),
    (["train", "{work}", "--out", "{out}", "--backbone", "nope"], "--backbone"),
    (["train", "{work}", "--out", "{out}", "--input-size", "16"], "--input-size"),
    (["train", "{work}", "--out", "{out}", "--schedule", "linear"], "--schedule"),
    (["train", "{work}", "--out", "{out}", "--act-dropout", "1"], "--act-dropout"),
    (["train", "{work}", "--out", "{out}", "--cutmix", "1.5"], "--cutmix"),
    (["prepare", "{data}", "--out", "{out}", "--detect-size", "0"], "--detect-size"),
    (["prepare", "{data}", "--out", "{out}", "--min-prob", "2"], "--min-prob"),
    (["prepare", "{data}", "--out", "{out}", "--per-class", "0"], "--per-class"),
    (["prepare", "{data}", "--out", "{out}", "--val-share", "1.5"], "--val-share"),
    (["prepare", "{data}", "--out", "{out}", "--workers", "0"], "--workers"),
    (["prepare", "{data}", "--out", "{out}", "--gray", "1.5"], "--gray"),
    (["predict", "{model}", "x.jpg", "--threshold", "5"], "--threshold"),
    (["predict", "{model}", "x.jpg", "--threshold", "-1.5"], "--threshold"),
    (["predict", "{model}", "x.jpg", "--threshold", "inf"], "--threshold"),
    (["predict", "{model}", "x.jpg", "--threads", "-1"], "--threads"),
    (["predict", "{model}", "x.jpg", "--precision", "fp16"], "--precision"),
    (["serve", "{model}", "--precision", "int8"], "--precision"),
    (["serve", "{model}", "--port", "-1"], "--port"),
    (["serve", "{model}", "--port", "70000"], "--port"),
    (["serve", "{model}", "--max-upload-mb", "0"], "--max-upload-mb"),
    (["prepare", "{out}", "--out", "{work}"], "DATA_DIR"),
]


@pytest.mark.parametrize("args, option", BAD, ids=[" ".join(a[:1] + a[3:]) for a, _ in BAD])
def test_bad_option_is_one_line_naming_it(dirs: dict[str, str], args: list[str], option: str) -> None:
    result = CliRunner().invoke(main, [a.format(**dirs) for a in args])
    assert result.exit_code == 2, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: ") and option in lines[0], result.output
    assert "Traceback" not in result.output
    assert not Path(dirs["out"]).exists()  # nothing was written


def test_help_still_works() -> None:
    result = CliRunner().invoke(main, ["train", "--help"])
    assert result.exit_code == 0 and "--epochs1" in result.output


@pytest.mark.parametrize("command, options", [("train", "TrainOptions"), ("prepare", "PrepareOptions")])
def test_cli_defaults_are_the_options_defaults(command: str, options: str) -> None:
    """`celebface train` / `prepare` with no options do what TrainOptions() / PrepareOptions() say (the library and
    the CLI agree: config.py holds the defaults)."""
    from dataclasses import fields

    import click

    from celebface import config

    cmd = main.commands[command]
    params = {p.name: p.get_default(click.Context(cmd)) for p in cmd.params}  # what a run without the option gets
    defaults = getattr(config, options)()
    shared = [f.name for f in fields(defaults) if f.name in params]
    assert len(shared) >= 12
    for name in shared:
        assert params[name] == getattr(defaults, name), name
