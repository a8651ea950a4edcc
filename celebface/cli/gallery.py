"""`celebface init`, `enroll`, `people`, `forget`, `rename`, `history`, `undo`, `compare`: the people gallery."""
from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Optional

import click

from . import main
from .common import device_option, examples, identity_option, run_safely

MODEL_DIR = click.Path(path_type=Path, exists=True, file_okay=False)
GALLERY_HELP = "PostgreSQL URL (postgresql://user@host/db; password from PGPASSWORD) instead of MODEL_DIR/gallery.db."


def _who() -> str:
    from ..gallery.sqlbase import default_who

    return default_who() + " (cli)"


def _open(model_dir: Path, gallery: Optional[str]):
    """The model's gallery; a trained model's training faces are imported first if they are not there yet."""
    from ..gallery.attach import open_model_gallery
    from ..recognition.bundle import load_bundle

    return run_safely(lambda: open_model_gallery(model_dir, load_bundle(model_dir), gallery))


def _when(t: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(t))


@main.command(epilog=examples(
    "celebface init models/family",
    "celebface init models/family --gallery postgresql://me@dbhost/faces"))
@click.argument("model_dir", type=click.Path(path_type=Path, file_okay=False))
@click.option("--backbone", default="dlib_face", show_default=True, help="An embedding backbone.")
@click.option("--gallery", default=None, help=GALLERY_HELP)
@identity_option
def init(model_dir: Path, backbone: str, gallery: Optional[str], identity: Optional[str]) -> None:
    """Make an empty recogniser in MODEL_DIR: enrol people next, no training."""
    from ..recognition.init_model import init_model

    run_safely(init_model, model_dir, backbone, gallery, identity)
    click.echo(f"empty model in {model_dir}; add people with `celebface enroll {model_dir} PHOTOS... --name NAME`")


def _known_folder(folder: Path) -> list[tuple[str, list[Path]]]:
    """KNOWN_DIR/<Name>/<photos> and KNOWN_DIR/<Name>.<ext>, by name."""
    from ..io.images import is_image_name
    from ..io.sources import expand_paths

    people: dict[str, list[Path]] = {}
    for entry in sorted(folder.iterdir()):
        if entry.is_dir() and not entry.is_symlink():
            people.setdefault(entry.name, []).extend(expand_paths([entry]))
        elif entry.is_file() and is_image_name(entry):
            people.setdefault(entry.stem, []).append(entry)
    return [(name, photos) for name, photos in people.items() if photos]


def _enrol_one(rec, name: str, photos: list[Path], replace: bool, main_face: bool, as_json: bool) -> bool:
    from ..errors import CelebfaceError, printable, shown

    try:
        report = rec.enroll(name, photos, replace=replace, main_face=main_face, who=_who())
    except CelebfaceError as exc:
        click.secho(f"error: {shown(name)}: {printable(exc)}", fg="red", err=True)
        return False
    if as_json:
        click.echo(json.dumps(report.to_dict()))
        return True
    verb = "replaced" if report.replaced else "updated" if report.updated else "added"
    click.echo(f"{verb} {report.name} from {report.faces} face(s) in {report.photos} photo(s) in "
               f"{report.seconds:.1f}s (change {report.change.id}; `celebface undo` takes it back)")
    for s in report.skipped:
        click.echo(f"  skipped {s}")
    if report.note:
        click.echo(f"  note: {report.note}")
    return True


@main.command(epilog=examples(
    'celebface enroll models/family ada1.jpg ada2.jpg --name "Ada Lovelace"',
    "celebface enroll models/family --folder known/"))
@click.argument("model_dir", type=MODEL_DIR)
@click.argument("photos", nargs=-1, type=click.Path(path_type=Path, exists=True))
@click.option("--name", default=None, help="The person in PHOTOS.")
@click.option("--folder", type=click.Path(path_type=Path, exists=True, file_okay=False), default=None,
              help="KNOWN_DIR with <Name>/<photos> or <Name>.jpg: enrol everyone in it.")
@click.option("--replace", is_flag=True, help="Replace the person's faces instead of adding to them.")
@click.option("--cluster", "cluster_dir", type=click.Path(path_type=Path, exists=True, file_okay=False), default=None,
              help="A folder CLUSTERS_DIR/<id> made by `celebface cluster`: enrol its faces (with --name).")
@click.option("--main-face", is_flag=True, help="In photos with several faces, take the main one.")
@click.option("--gallery", default=None, help=GALLERY_HELP)
@click.option("--json", "as_json", is_flag=True, help="One JSON object per person.")
@device_option
def enroll(model_dir: Path, photos: tuple[Path, ...], name: Optional[str], folder: Optional[Path],
           cluster_dir: Optional[Path], replace: bool, main_face: bool, gallery: Optional[str], as_json: bool,
           device: str) -> None:
    """Add a person's faces from PHOTOS (files or folders), a --cluster, or everyone in --folder. No training."""
    from ..data.cluster import cluster_crops
    from ..io.sources import expand_paths
    from ..recognition.recognizer import load

    sources = sum(map(bool, (photos, folder, cluster_dir)))
    if sources != 1 or (folder and name) or (not folder and not name):
        raise click.UsageError("give PHOTOS... or --cluster DIR with --name NAME, or --folder KNOWN_DIR")
    main_face = main_face or cluster_dir is not None  # a cluster's crops are one face each
    jobs = (_known_folder(folder) if folder else
            [(name, run_safely(cluster_crops, cluster_dir) if cluster_dir else expand_paths(photos))])
    if not jobs:
        raise click.UsageError(f"no photos found in {folder or ', '.join(map(str, photos))}")
    rec = run_safely(load, model_dir, device, gallery=gallery)
    ok = [_enrol_one(rec, n, p, replace, main_face, as_json) for n, p in jobs]
    if not all(ok):
        raise SystemExit(2)


@main.command(epilog=examples("celebface people models/family", "celebface people models/family --json"))
@click.argument("model_dir", type=MODEL_DIR)
@click.option("--gallery", default=None, help=GALLERY_HELP)
@click.option("--json", "as_json", is_flag=True, help="A JSON list.")
def people(model_dir: Path, gallery: Optional[str], as_json: bool) -> None:
    """The people in the gallery: names, face counts, dates."""
    found = run_safely(lambda: _open(model_dir, gallery).people())
    if as_json:
        click.echo(json.dumps([p.to_dict() for p in found]))
        return
    for p in found:
        click.echo(f"{p.name}\t{p.faces} face(s)\tadded {_when(p.created)}\tupdated {_when(p.updated)}")
    click.echo(f"{len(found)} people", err=True)


def _change(model_dir: Path, gallery: Optional[str], op: str, *args: str) -> None:
    store = _open(model_dir, gallery)
    change = run_safely(getattr(store, op), *args, who=_who())
    if op == "undo":  # an undo cannot itself be undone: promise nothing
        click.echo(f"{change.summary} (change {change.id})")
    else:
        click.echo(f"{change.summary} (change {change.id}; `celebface undo {model_dir}` takes it back)")


@main.command(epilog=examples(
    'celebface forget models/family "Ada Lovelace"',
    'celebface forget models/family "Ada Lovelace" --purge'))
@click.argument("model_dir", type=MODEL_DIR)
@click.argument("name")
@click.option("--gallery", default=None, help=GALLERY_HELP)
@click.option("--purge", is_flag=True, help="Erase the person for good: their faces (those in the trash too) and the "
                                            "archive sightings linked to them. Cannot be undone.")
def forget(model_dir: Path, name: str, gallery: Optional[str], purge: bool) -> None:
    """Remove a person and their faces (undo brings them back for CELEBFACE_TRASH_DAYS days; --purge: never)."""
    if not purge:
        _change(model_dir, gallery, "forget", name)
        return
    change = run_safely(_open(model_dir, gallery).purge, name, who=_who())
    click.echo(f"{change.summary} (change {change.id})")


@main.command(epilog=examples('celebface rename models/family Ada "Ada Lovelace"'))
@click.argument("model_dir", type=MODEL_DIR)
@click.argument("old")
@click.argument("new")
@click.option("--gallery", default=None, help=GALLERY_HELP)
def rename(model_dir: Path, old: str, new: str, gallery: Optional[str]) -> None:
    """Rename a person."""
    _change(model_dir, gallery, "rename", old, new)


@main.command(epilog=examples("celebface undo models/family"))
@click.argument("model_dir", type=MODEL_DIR)
@click.option("--gallery", default=None, help=GALLERY_HELP)
def undo(model_dir: Path, gallery: Optional[str]) -> None:
    """Take back the latest change to the people that is not undone yet."""
    _change(model_dir, gallery, "undo")


@main.command(epilog=examples("celebface history models/family", "celebface history models/family --limit 10 --json"))
@click.argument("model_dir", type=MODEL_DIR)
@click.option("--limit", type=click.IntRange(min=1), default=50, show_default=True)
@click.option("--gallery", default=None, help=GALLERY_HELP)
@click.option("--json", "as_json", is_flag=True, help="A JSON list, newest first.")
def history(model_dir: Path, limit: int, gallery: Optional[str], as_json: bool) -> None:
    """Every change to the people: who, when, what; newest first."""
    changes = run_safely(lambda: _open(model_dir, gallery).history(limit))
    if as_json:
        click.echo(json.dumps([c.to_dict() for c in changes]))
        return
    for c in changes:
        undone = f"  [undone by {c.undone_by}]" if c.undone_by else ""
        click.echo(f"{c.id}\t{_when(c.at)}\t{c.who}\t{c.action} {c.name}: {c.summary}{undone}")


@main.command(epilog=examples(
    "celebface compare ada1.jpg ada2.jpg",
    "celebface compare ada1.jpg ada2.jpg --identity dlib --json"))
@click.argument("photo_a", type=click.Path(path_type=Path, exists=True, dir_okay=False))
@click.argument("photo_b", type=click.Path(path_type=Path, exists=True, dir_okay=False))
@click.option("--threshold", type=click.FloatRange(-1.0, 1.0), default=None,
              help="Cosine similarity at or above which the faces are the same person "
                   "(default: the identity's own pair threshold; dlib's is 0.91, measured on photo pairs).")
@identity_option
@click.option("--json", "as_json", is_flag=True)
def compare(photo_a: Path, photo_b: Path, threshold: Optional[float], identity: Optional[str], as_json: bool) -> None:
    """Are the main faces of two photos the same person? Cosine similarity, distance and verdict."""
    from ..gallery.api import compare as run, default_embedder

    result = run_safely(lambda: run(photo_a, photo_b, threshold, default_embedder(identity)))
    if as_json:
        click.echo(json.dumps(result.to_dict()))
        return
    verdict = "same person" if result.same else "different people"
    click.echo(f"{verdict}: similarity {result.similarity:.3f} (threshold {result.threshold:.2f}), "
               f"distance {result.distance:.3f}")
