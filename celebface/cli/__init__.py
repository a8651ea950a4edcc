"""The `celebface` command. One module per command group registers its commands on `main`:
data (prepare), training (train, evaluate), gallery (init, enroll, people, forget, rename, history, undo,
compare), people (person ...), recognition (predict, backbones, identities), data_check (check, cluster),
scale (index, search), service (serve)."""
from __future__ import annotations

import sys

import click

from .. import __version__
from .common import examples


class OneLineErrors(click.Group):
    """Usage errors (a bad option value, a missing argument) as one line naming the option, exit code 2."""

    def main(self, *args, **kwargs):  # type: ignore[override]
        kwargs["standalone_mode"] = False
        try:
            return super().main(*args, **kwargs)
        except click.exceptions.Abort:
            click.echo("aborted", err=True)
            sys.exit(130)
        except click.ClickException as exc:
            from ..errors import printable

            click.secho(f"error: {printable(exc.format_message())}", fg="red", err=True)
            sys.exit(exc.exit_code)


@click.group(cls=OneLineErrors, context_settings={"help_option_names": ["-h", "--help"]},
             epilog=examples("celebface prepare photos/ --out work/", "celebface train work/ --out models/celebs"))
@click.version_option(__version__, "-V", "--version", prog_name="celebface")
def main() -> None:
    """celebface: learn people's faces from a folder of photos, then name the faces in new photos."""


from . import data, data_check, gallery, people, recognition, scale, service, training  # noqa: E402,F401  (each adds its commands)

