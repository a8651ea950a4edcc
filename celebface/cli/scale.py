"""`celebface index`: the archive job (faces of every photo and video -> Parquet shards), on this machine or on
Ray."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import click

from ..scale.parts import SEGMENT
from . import main
from .common import (POS_INT, apply_precision, device_option, engine_options, examples, precision_option,
                     run_safely)


@main.command(epilog=examples(
    "celebface index models/celebs archive/ --out results/ --add-to-gallery",
    "celebface index models/celebs s3://bucket/archive --out s3://bucket/results --engine ray --address auto"))
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
@click.option("--segment", type=click.FloatRange(min=0.0), default=SEGMENT, show_default=True,
              help="Videos longer than this many seconds are indexed in parts of this length, each its own task "
                   "(0: every video whole).")
@click.option("--add-to-gallery", is_flag=True,
              help="Also store every face (embedding, where it was seen, its name) in the model's gallery database, "
                   "for `celebface search` and clustering later.")
@click.option("--gallery", "gallery_url", default=None,
              help="postgresql://... gallery for --add-to-gallery (default: CELEBFACE_GALLERY, MODEL_DIR/gallery.json, "
                   "else MODEL_DIR/gallery.db).")
@device_option
@precision_option
@click.option("--quiet", is_flag=True)
def index(model_dir: Path, sources: tuple[str, ...], out: str, engine: str, address: Optional[str],
          workers: Optional[int], shard_size: int, batch_size: int, fps: float, segment: float, add_to_gallery: bool,
          gallery_url: Optional[str], device: str, precision: str, quiet: bool) -> None:
    """Name the faces of every photo and video under SOURCE... (files, folders or URIs) into Parquet shards in
    RESULTS_DIR; run it again to resume: finished shards are kept."""
    from ..scale.index import IndexOptions, index as run

    device = "cpu" if device == "auto" else device
    apply_precision(precision, device)  # worker processes and Ray's workers inherit it

    opts = IndexOptions(engine, address, workers, shard_size, batch_size, device, quiet, fps, segment)
    s = run_safely(run, model_dir, list(sources), out, opts)
    click.echo(f"{s.photos} photos and videos ({s.skipped} already indexed): {s.faces} faces in {s.shards} new shards "
               f"in {s.seconds:.1f}s ({engine}); results in {out}")
    if add_to_gallery:
        from ..scale.to_gallery import add_index_to_gallery

        g = run_safely(add_index_to_gallery, model_dir, out, gallery_url)
        click.echo(f"gallery: {g.added} new archive faces stored ({g.faces - g.added} were there already)"
                   + (f"; people: {g.grouped} (`celebface person list {model_dir}`)" if g.grouped else ""))


@main.command(epilog=examples(
    "celebface search models/celebs party.jpg",
    "celebface search models/celebs party.jpg --top 5 --json"))
@click.argument("model_dir", type=click.Path(path_type=Path, exists=True, file_okay=False))
@click.argument("photo")
@click.option("--top", type=POS_INT, default=10, show_default=True, help="Archive faces listed per face.")
@click.option("--gallery", "gallery_url", default=None, help="postgresql://... gallery (as for index).")
@click.option("--json", "as_json", is_flag=True, help="Print the results as JSON.")
def search(model_dir: Path, photo: str, top: int, gallery_url: Optional[str], as_json: bool) -> None:
    """Find the faces of PHOTO in the archive: the faces stored by `index --add-to-gallery` most like each face of
    PHOTO, most similar first (where each was seen, its name, its cosine similarity)."""
    import dataclasses
    import json

    from ..scale.to_gallery import search_archive

    results = run_safely(search_archive, model_dir, photo, top, gallery_url)
    if as_json:
        click.echo(json.dumps([dataclasses.asdict(r) for r in results], indent=1))
        return
    if not results:
        click.echo(f"no face found in {photo}")
    for r in results:
        click.echo(f"face {r.face} ({r.name or 'unknown'}):")
        for m in r.matches:
            s = m.sighting
            at = f" at {s.time:.1f}s" if s.time is not None else ""
            click.echo(f"  {m.similarity:.3f}  {s.path}{at} face {s.face} ({s.name or 'unknown'})")
