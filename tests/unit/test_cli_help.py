"""Every command's --help ends with examples of that command that parse (their options exist, their choices and
numbers are valid, no argument is missing or left over); `celebface --version` prints the package's version."""
from __future__ import annotations

import shlex
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

import celebface
from celebface.cli import main

ROOT = Path(__file__).resolve().parents[2]


def command_paths(group: click.Group = main, path: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """The path of every command in the tree: () for `celebface` itself, ("person", "move"), ..."""
    paths = [path]
    for name, cmd in sorted(group.commands.items()):
        if isinstance(cmd, click.Group):
            paths += command_paths(cmd, path + (name,))
        else:
            paths.append(path + (name,))
    return paths


def help_of(path: tuple[str, ...]) -> str:
    result = CliRunner().invoke(main, [*path, "--help"], prog_name="celebface", terminal_width=100)
    assert result.exit_code == 0, result.output
    return result.output


def examples_of(help_text: str) -> list[str]:
    """The lines after the last 'Examples:' line; it must close the help."""
    lines = help_text.rstrip("\n").splitlines()
    starts = [i for i, line in enumerate(lines) if line.strip() == "Examples:"]
    assert starts, f"no Examples block:\n{help_text}"
    found = [line.strip() for line in lines[starts[-1] + 1:]]
    assert found and all(found), f"the Examples block must close the help, one example a line:\n{help_text}"
    return found


def check_parses(cmd: click.Command, args: list[str], info_name: str) -> None:
    """Parse `args` as click would for `cmd` (a group: its own options, then the subcommand's), without running it
    and without the checks that need real files: unknown options, missing values, bad choices or numbers,
    missing or extra arguments all fail."""
    ctx = click.Context(cmd, info_name=info_name)
    opts, rest, _ = cmd.make_parser(ctx).parse_args(list(args))  # click's parser raises NoSuchOption itself
    for param in cmd.params:
        value = opts.get(param.name)  # a string, strings (nargs) or a flag's value; absent: None or click's UNSET
        if not isinstance(value, (str, tuple, bool)) or value == ():
            assert not param.required, f"{info_name}: {param.human_readable_name} is missing in {args}"
        elif not isinstance(param.type, click.Path) and not getattr(param, "is_flag", False):
            param.type_cast_value(ctx, value)  # raises BadParameter for a bad choice or number
    if isinstance(cmd, click.Group):
        if rest:
            assert rest[0] in cmd.commands, f"{info_name}: no command {rest[0]!r}"
            check_parses(cmd.commands[rest[0]], rest[1:], f"{info_name} {rest[0]}")
        return
    assert not rest, f"{info_name}: arguments left over: {rest}"


PATHS = command_paths()


def test_the_walk_finds_every_command() -> None:
    names = {" ".join(p) for p in PATHS}
    assert {"", "train", "predict", "person", "person move", "serve"} <= names and len(names) >= 30


@pytest.mark.parametrize("path", PATHS, ids=[" ".join(p) or "celebface" for p in PATHS])
def test_help_ends_with_examples_that_parse(path: tuple[str, ...]) -> None:
    found = examples_of(help_of(path))
    assert 1 <= len(found) <= 2, found
    prefix = ["celebface", *path]
    for example in found:
        words = shlex.split(example)
        assert words[:len(prefix)] == prefix and len(words) > 1, f"{example!r} is not a `{' '.join(prefix)}` example"
        check_parses(main, words[1:], "celebface")


def test_a_wrong_example_fails_the_check() -> None:
    """The check is not vacuous: an unknown option, a bad choice, a missing or extra argument are caught."""
    for bad in (["train", "work/", "--out", "m", "--no-such-option"], ["train", "work/", "--out", "m", "--backbone",
                "nope"], ["train", "work/"], ["undo", "models/x", "extra"], ["person", "nope", "models/x"]):
        with pytest.raises((click.UsageError, click.BadParameter, AssertionError)):
            check_parses(main, bad, "celebface")


def test_version_is_the_package_version() -> None:
    for flag in ("--version", "-V"):
        result = CliRunner().invoke(main, [flag], prog_name="celebface")
        assert result.exit_code == 0 and result.output == f"celebface, version {celebface.__version__}\n"


def test_the_package_has_one_version() -> None:
    """pyproject.toml takes its version from celebface.__version__ (one place to change it)."""
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert "version" in project["project"]["dynamic"] and "version" not in project["project"]
    assert project["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "celebface.__version__"}
