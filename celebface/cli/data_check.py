"""`celebface check` (what is wrong with a data set) and `celebface cluster` (who is in a pile of photos)."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import click

from . import main
from .common import POS_INT, examples, run_safely


@main.command(epilog=examples("celebface check photos/", "celebface check photos/ --out check-report/ --json"))
@click.argument("data_dir", type=click.Path(path_type=Path, exists=True, file_okay=False))
@click.option("--out", "out_dir", type=click.Path(path_type=Path, file_okay=False), default=Path("check-report"),
              show_default=True, help="REPORT_DIR for report.html and report.json (outside DATA_DIR).")
@click.option("--work", "work_dir", type=click.Path(path_type=Path, file_okay=False), default=None,
              help="A `prepare` WORK_DIR whose faces and embeddings are re-used (default: REPORT_DIR/work).")
@click.option("--json", "as_json", is_flag=True, help="Print the whole report as JSON instead of the table.")
@click.option("--workers", type=POS_INT, default=None, help="Worker processes (default: one per core).")
@click.option("--quiet", is_flag=True, help="No progress bars.")
def check(data_dir: Path, out_dir: Path, work_dir: Optional[Path], as_json: bool, workers: Optional[int],
          quiet: bool) -> None:
    """Before training: unreadable photos, no or several faces, duplicates, likely mislabels, tiny faces."""
    from ..data.check import check as run
    from ..data.check import print_table

    report = run_safely(run, data_dir, out_dir, work_dir, workers, progress=not (quiet or as_json))
    if as_json:
        click.echo(report.model_dump_json(indent=1))
        return
    click.echo(print_table(report))
    click.echo(f"wrote {out_dir / 'report.html'} and report.json")


@main.command(epilog=examples(
    "celebface cluster party-photos/ --out clusters/ --model models/celebs",
    "celebface cluster --archive models/celebs --out clusters/"))
@click.argument("sources", nargs=-1, type=click.Path(path_type=Path, exists=True))
@click.option("--out", "out_dir", required=True, type=click.Path(path_type=Path, file_okay=False),
              help="CLUSTERS_DIR: one folder of face crops per cluster, contact sheets and clusters.json.")
@click.option("--model", "model_dir", type=click.Path(path_type=Path, exists=True, file_okay=False), default=None,
              help="Label clusters that match a person this model knows.")
@click.option("--archive", "archive_dir", type=click.Path(path_type=Path, exists=True, file_okay=False), default=None,
              help="MODEL_DIR whose gallery holds an archive's faces (`index --add-to-gallery`): cluster those "
                   "instead of SOURCES, nothing detected again; clusters are named from the names the index gave.")
@click.option("--gallery", "gallery_url", default=None,
              help="postgresql://... gallery for --archive (default: as for index).")
@click.option("--min-faces", type=POS_INT, default=3, show_default=True,
              help="Smallest cluster kept; faces in smaller ones are left out and counted.")
@click.option("--method", type=click.Choice(["chinese_whispers", "agglomerative", "dbscan", "hdbscan"]),
              default="chinese_whispers", show_default=True)
@click.option("--distance", type=click.FloatRange(0.01, 1.0), default=None,
              help="Cosine-distance cut between people (default: the measured one).")
@click.option("--workers", type=POS_INT, default=None, help="Worker processes (default: one per core).")
@click.option("--quiet", is_flag=True, help="No progress bar.")
def cluster(sources: tuple[Path, ...], out_dir: Path, model_dir: Optional[Path], archive_dir: Optional[Path],
            gallery_url: Optional[str], min_faces: int, method: str, distance: Optional[float],
            workers: Optional[int], quiet: bool) -> None:
    """Group the faces in photos (files or folders), or an indexed archive's faces (--archive), into people; enrol
    one with `enroll --cluster`."""
    from ..data.cluster import cluster_photos

    if bool(sources) == bool(archive_dir):
        raise click.UsageError("give photos (files or folders) or --archive MODEL_DIR, one of the two")
    if archive_dir is not None:
        from ..scale.archive_clusters import cluster_archive

        _print_clusters(run_safely(cluster_archive, archive_dir, out_dir, gallery_url, min_faces, method, distance),
                        out_dir, min_faces)
        return
    namer = None
    if model_dir is not None:
        from ..recognition.cluster_names import cluster_namer
        from ..recognition.recognizer import load

        namer = cluster_namer(run_safely(load, model_dir))
    index = run_safely(cluster_photos, sources, out_dir, namer, min_faces, method, distance, workers,
                       progress=not quiet, model=str(model_dir) if model_dir else None)
    _print_clusters(index, out_dir, min_faces)


def _print_clusters(index, out_dir: Path, min_faces: int) -> None:
    click.echo(f"{index.photos} photos ({index.unreadable} unreadable, {index.photos_without_face} without a face), "
               f"{index.faces} faces: {len(index.clusters)} clusters, {index.left_out} faces in no cluster "
               f"of {min_faces}+")
    for c in index.clusters:
        label = f"  {c.name} ({c.name_score:.0%} of faces)" if c.name else ""
        click.echo(f"  {c.id}: {c.size} faces{label}")
    click.echo(f"wrote {out_dir}/<id>/ and clusters.json; enrol one with: "
               f"celebface enroll MODEL_DIR --cluster {out_dir}/<id> --name NAME")
