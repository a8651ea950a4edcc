"""What every command shares: one-line errors, and the option types (click checks ranges and choices)."""
from __future__ import annotations

import sys
from typing import Any, Callable, Optional

import click

from ..errors import CelebfaceError, printable, shown

THREADS_HELP = "Torch threads (default: one per core); 1 is faster when other jobs share the CPU."
PRECISION_HELP = ("Precision of the identity networks (dlib's ResNet, faceres; not MTCNN, not SFace): bf16 names "
                  "faces faster on CPUs with AVX512-BF16 or AMX (slower on others) and moves the identity vectors "
                  "a little (docs/how/speed.md); auto = fp32.")
#: Positive integers, probabilities, shares: click refuses anything else with one line naming the option.
POS_INT = click.IntRange(min=1)
SHARE = click.FloatRange(0.0, 1.0, max_open=True)
PROB = click.FloatRange(0.0, 1.0, min_open=True, max_open=True)
POS_FLOAT = click.FloatRange(min=0.0, min_open=True)
DEVICE = click.Choice(["auto", "cpu", "cuda"])
PORT = click.IntRange(0, 65535)


def examples(*lines: str) -> str:
    """A command's help epilog: its examples, printed as written (click's \\b marker keeps the lines unwrapped).
    tests/unit/test_cli_help.py checks that every command has them and that their options exist.

    :param lines: whole command lines, each starting with `celebface` and the command's name.
    """
    return "\b\nExamples:\n" + "\n".join(f"  {line}" for line in lines)


def threads_option(fn: Callable) -> Callable:
    return click.option("--threads", type=POS_INT, default=None, help=THREADS_HELP)(fn)


def precision_option(fn: Callable) -> Callable:
    """--precision of the identity networks at inference (runtime.set_identity_precision)."""
    from ..config import PRECISIONS

    return click.option("--precision", type=click.Choice(PRECISIONS), default="auto",
                        show_default=True, help=PRECISION_HELP)(fn)


def warn_precision(precision: Optional[str], device: str = "auto") -> None:
    """A warning on stderr where `precision` is bf16 and the hardware has none (runtime.precision_warning)."""
    from ..runtime import precision_warning

    note = run_safely(precision_warning, precision, device)
    if note:
        click.echo(f"warning: {note}", err=True)


def apply_precision(precision: Optional[str], device: str = "auto") -> None:
    """Name faces in `precision` from now on (runtime.set_identity_precision; worker processes inherit it), with
    warn_precision's warning where bf16 has no hardware."""
    from ..runtime import set_identity_precision

    set_identity_precision(precision)
    warn_precision(precision, device)


def identity_option(fn: Callable, for_training: bool = False) -> Callable:
    """--identity: which identity embedder compares faces (faces/identity.py), the registry's names."""
    from ..faces.identity import DEFAULT_IDENTITY, NAMING_IDENTITY, TRAIN_IDENTITY, identity_names

    default = (f"{TRAIN_IDENTITY} for a CNN's unknown gate and the fusion backbones, {NAMING_IDENTITY} for dlib_face"
               if for_training else DEFAULT_IDENTITY)
    return click.option("--identity", type=click.Choice(identity_names()), default=None,
                        help=f"The identity embedder that compares faces (default {default}; see "
                             f"`celebface identities`).")(fn)


def train_identity_option(fn: Callable) -> Callable:
    return identity_option(fn, for_training=True)


def device_option(fn: Callable) -> Callable:
    return click.option("--device", type=DEVICE, default="auto", show_default=True)(fn)


def run_safely(fn: Callable, *args: Any, **kwargs: Any) -> Any:
    """Errors a user can cause become one clear line and exit code 2, never a traceback."""
    try:
        return fn(*args, **kwargs)
    except CelebfaceError as exc:
        click.secho(f"error: {printable(exc)}", fg="red", err=True)
        sys.exit(2)
    except KeyboardInterrupt:
        click.echo("interrupted; finished steps are kept and reused next time", err=True)
        sys.exit(130)
    except OSError as exc:
        click.secho(f"error: {printable(exc.strerror or exc)} ({shown(exc.filename or '')})", fg="red", err=True)
        sys.exit(2)


ENGINE = click.Choice(["local", "ray"])
ADDRESS_HELP = ("Ray cluster to join with --engine ray: 'auto' (the one started here by `ray start`), HOST:PORT "
                "of its head, or nothing for a private one-machine Ray.")


def engine_options(fn):
    """--engine and --address, shared by prepare, train and index."""
    fn = click.option("--address", default=None, help=ADDRESS_HELP)(fn)
    return click.option("--engine", type=ENGINE, default="local", show_default=True,
                        help="local: this machine's worker processes; ray: a Ray cluster "
                             "(pip install 'celebface[ray]').")(fn)
