"""`celebface serve`: the web page and REST API."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Optional

import click

from . import main
from .common import PORT, POS_FLOAT, apply_precision, examples, precision_option, run_safely, threads_option

TOKEN_ENV = "CELEBFACE_TOKEN"


def read_token(token_file: Optional[Path]) -> Optional[str]:
    """The API token from --token-file, else the CELEBFACE_TOKEN environment variable (never from argv: `ps`
    shows every process's arguments to every user)."""
    if token_file is not None:
        token = token_file.read_text(encoding="utf-8").strip()
        if not token:
            raise click.BadParameter(f"{token_file} is empty", param_hint="--token-file")
        return token
    return os.environ.get(TOKEN_ENV) or None


@main.command(epilog=examples(
    "celebface serve models/celebs",
    "celebface serve models/celebs --port 8080 --token-file token.txt"))
@click.argument("model_dir", type=click.Path(path_type=Path, exists=True, file_okay=False))
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=PORT, default=8000, show_default=True)
@click.option("--token", default=None, help=f"Require 'Authorization: Bearer TOKEN' on every API call. Visible in "
              f"`ps`: prefer --token-file or the {TOKEN_ENV} environment variable.")
@click.option("--token-file", type=click.Path(path_type=Path, exists=True, dir_okay=False),
              help="Read the token from this file.")
@click.option("--allowed-host", "allowed_hosts", multiple=True,
              help="Host names the server answers to (default: loopback names, plus --host); repeatable.")
@click.option("--max-upload-mb", type=POS_FLOAT, default=10.0, show_default=True)
@click.option("--workers", type=click.IntRange(1, 64), default=1, show_default=True,
              help="Server processes sharing the model's gallery (each loads the model once).")
@click.option("--gallery", default=None, help="PostgreSQL URL of the people gallery (else the model's own).")
@threads_option
@precision_option
def serve(model_dir: Path, host: str, port: int, token: Optional[str], token_file: Optional[Path],
          allowed_hosts: tuple[str, ...], max_upload_mb: float, workers: int, gallery: Optional[str],
          threads: Optional[int], precision: str) -> None:
    """Web page and REST API on http://HOST:PORT/ (API docs at /docs)."""
    from ..runtime import set_threads
    from ..service.server import run

    set_threads(threads)
    apply_precision(precision)  # the worker processes inherit it
    token = token or read_token(token_file)
    if gallery:
        os.environ["CELEBFACE_GALLERY"] = gallery  # read by the gallery in this process and in the workers
    if workers > 1:
        from ..service.factory import run_workers

        run_safely(run_workers, model_dir, host, port, workers, token, max_upload_mb, list(allowed_hosts), threads)
        return
    run_safely(run, model_dir, host, port, token, max_upload_mb, list(allowed_hosts))
