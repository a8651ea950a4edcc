"""`celebface predict` and `backbones`: naming faces with a model."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import click

from ..io.video import MAX_DURATION
from . import main
from .common import (POS_INT, apply_precision, device_option, examples, precision_option, run_safely,
                     threads_option)


def _check_annotate_dir(annotate_dir: Optional[Path]) -> None:
    from ..errors import ConfigError

    if annotate_dir is None:
        return
    if annotate_dir.exists() and not annotate_dir.is_dir():
        raise ConfigError(f"--annotate {annotate_dir} is a file; give a folder for the annotated copies")
    annotate_dir.mkdir(parents=True, exist_ok=True)
    import os

    if not os.access(annotate_dir, os.W_OK):
        raise ConfigError(f"--annotate {annotate_dir} is not writable; give a folder you can write to")


def _some_path_exists(paths: tuple[Path, ...]) -> None:
    """None of the paths exists: an error (exit 2). Some do: each missing one gets its per-file error."""
    import os

    from ..errors import DataError, shown

    if not any(os.path.lexists(p) for p in paths):
        raise DataError(f"no such file or folder: {', '.join(shown(p) for p in paths[:5])}"
                        + (f" and {len(paths) - 5} more" if len(paths) > 5 else ""))


def _echo_result(result, as_json: bool) -> None:
    from ..errors import printable

    if as_json:
        click.echo(result.to_json())
    elif result.error:
        click.echo(printable(f"{result.image}: error: {result.error}"))  # a file name may hold escapes
    elif not result.faces:
        click.echo(printable(f"{result.image}: no face"))
    else:
        click.echo(printable(f"{result.image}: " + ", ".join(
            f"{f.name} ({f.confidence:.2f})" if f.name is not None else f"no name ({f.reason})" for f in result.faces)))


@main.command(epilog=examples(
    "celebface predict models/celebs party.jpg",
    "celebface predict models/celebs photos/ clip.mp4 --annotate annotated/ --json"))
@click.argument("model_dir", type=click.Path(path_type=Path, exists=True, file_okay=False))
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="One JSON object per photo.")
@click.option("--annotate", "annotate_dir", type=click.Path(path_type=Path), help="Write annotated copies here.")
@click.option("--threshold", type=click.FloatRange(-1.0, 1.0), default=None,
              help="Override the bundle's 'unknown' threshold (on the model's score scale).")
@click.option("--fps", type=click.FloatRange(0.01, 60.0), default=2.0, show_default=True,
              help="Videos: frames sampled per second.")
@click.option("--merge-gap", type=click.FloatRange(0.0), default=1.0, show_default=True,
              help="Videos: join a person's appearances at most this many seconds apart.")
@click.option("--max-duration", type=click.FloatRange(1.0), default=MAX_DURATION, show_default=True,
              help="Videos: refuse videos longer than this many seconds.")
@click.option("--min-frames", type=click.IntRange(1), default=2, show_default=True,
              help="Videos: name only faces seen in at least this many sampled frames.")
@click.option("--reembed", type=click.FloatRange(0.0), default=1.0, show_default=True,
              help="Videos: a face that stays in place and looks the same is embedded again after this many "
                   "seconds (0: in every sampled frame).")
@click.option("--processes", type=POS_INT, default=1, show_default=True,
              help="Photos: worker processes naming them, each with its own copy of the model and one torch thread "
                   "(1: this process's threads). Each worker loads the model first, so more than 1 pays only for "
                   "long jobs, if at all (measured in docs/how/speed.md).")
@device_option
@threads_option
@precision_option
def predict(model_dir: Path, paths: tuple[Path, ...], as_json: bool, annotate_dir: Optional[Path],
            threshold: Optional[float], fps: float, merge_gap: float, max_duration: float, min_frames: int,
            reembed: float, processes: int, device: str, threads: Optional[int], precision: str) -> None:
    """Name every face in the photos, and who appears when in the videos (files or folders)."""
    from ..io.sources import expand_paths, is_video_name
    from ..recognition.recognizer import load
    from ..runtime import set_threads

    set_threads(threads)
    apply_precision(precision, device)
    run_safely(_some_path_exists, paths)
    run_safely(_check_annotate_dir, annotate_dir)
    rec = run_safely(load, model_dir, device, threshold)
    files = expand_paths(paths, videos=True)
    photos = [f for f in files if not is_video_name(f)]
    run_safely(_predict_photos, rec, photos, as_json, annotate_dir, processes)
    from .video_predict import predict_videos

    from ..recognition.video import VideoOptions
    from ..recognition.video_reuse import ReuseOptions

    opts = VideoOptions(fps=fps, merge_gap=merge_gap, max_duration=max_duration, min_frames=min_frames,
                        reuse=ReuseOptions(reembed=reembed))
    predict_videos(rec, [f for f in files if is_video_name(f)], as_json, annotate_dir, opts)


def _predict_photos(rec, photos: list, as_json: bool, annotate_dir: Optional[Path], processes: int) -> None:
    """Name the photos (in this process, or by `processes` worker processes), print each result and write its
    annotated copy."""
    from ..recognition.annotate import save_annotated
    from ..recognition.photo_pool import pool_size, predict_in_processes

    processes = pool_size(photos, processes)
    if processes > 1:
        for result in predict_in_processes(rec, photos, processes, annotate_dir):  # the workers write the copies
            _echo_result(result, as_json)
        return
    for result, img in rec.predict_many_with_images(photos):
        _echo_result(result, as_json)
        if annotate_dir and img is not None:
            save_annotated(img, result, annotate_dir)


@main.command(epilog=examples("celebface backbones"))
def backbones() -> None:
    """List the backbones and where their weights come from."""
    from ..faces.backbones import REGISTRY

    for spec in REGISTRY.values():
        click.echo(f"{spec.name:20} {spec.description}")


@main.command(epilog=examples("celebface identities"))
def identities() -> None:
    """List the identity embedders (what compares faces), their vector length, weights and whether installed."""
    from ..faces.identity import DEFAULT_IDENTITY, IDENTITIES, identity_ready

    for spec in IDENTITIES.values():
        ready = identity_ready(spec.name)
        mark = "default" if spec.name == DEFAULT_IDENTITY else ""
        click.echo(f"{spec.name:14} {spec.dim:5}-d {mark:8} {spec.description}")
        click.echo(f"{'':14} weights: {spec.weights.source} ({spec.weights.license}); trained on "
                   f"{spec.weights.training_data}")
        click.echo(f"{'':14} {'installed' if ready is None else 'missing: ' + ready}")
