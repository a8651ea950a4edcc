"""`celebface index`: the archive job (faces of every photo and video -> Parquet shards), on this machine or on
Ray."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import click

from . import main
from .common import POS_INT, device_option, engine_options, run_safely


@main.command()
@click.argument("model_dir", type=click.Path(path_type=Path, exists=True, file_okay=False))
@click.argument("sources", nargs=-1, required=True)
@click.option("--out", "out", required=True, help="RESULTS_DIR: a folder or a pyarrow filesystem URI "
              "(s3://..., gs://..., hdfs://...) every node can write.")
@engine_options
@click.option("--workers", type=POS_INT, default=None, help="Worker processes / Ray actors (default: all cores).")
@click.option("--shard-size", type=POS_INT, default=64, show_default=True,
              help="Photos per Parquet shard: the unit a rerun skips when finished.")
@click.option("--batch-size", type=POS_INT, default=4, show_default=True, help="Photos per worker call.")
@click.option("--fps", type=click.FloatRange(0.01, 60.0), default=2.0, show_default=True,
              help="Video frames sampled per second (one row per face per sampled frame, its time set).")
@click.option("--add-to-gallery", is_flag=True,
              help="Also store the faces' embeddings in the model's gallery (needs the gallery feature).")
@device_option
@click.option("--quiet", is_flag=True)
def index(model_dir: Path, sources: tuple[str, ...], out: str, engine: str, address: Optional[str],
          workers: Optional[int], shard_size: int, batch_size: int, fps: float, add_to_gallery: bool,
          device: str, quiet: bool) -> None:
    """Name the faces of every photo and video under SOURCE... (files, folders or URIs) into Parquet shards in
    RESULTS_DIR; run it again to resume: finished shards are kept."""
    from ..errors import ConfigError
    from ..scale.index import IndexOptions, index as run

    if add_to_gallery:
        run_safely(_no_gallery, ConfigError)
    opts = IndexOptions(engine, address, workers, shard_size, batch_size,
                        "cpu" if device == "auto" else device, quiet, fps)
    s = run_safely(run, model_dir, list(sources), out, opts)
    click.echo(f"{s.photos} photos and videos ({s.skipped} already indexed): {s.faces} faces in {s.shards} new shards "
               f"in {s.seconds:.1f}s ({engine}); results in {out}")


def _no_gallery(err: type) -> None:
    try:
        import celebface.gallery  # noqa: F401
    except ImportError:
        raise err("--add-to-gallery needs the people gallery (celebface.gallery), which this version lacks; "
                  "index without it and load the Parquet embeddings later") from None
    raise err("--add-to-gallery is not wired to the gallery yet in this version; index without it")
