"""`celebface person ...`: the people found in the archive's faces (`index --add-to-gallery`), named or not:
group, list, name, merge, split, move a face, mark a face not this person, suggestions. Every change is in
`celebface history` and `celebface undo` takes it back."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import click

from . import main
from .common import examples, run_safely

MODEL_DIR = click.Path(path_type=Path, exists=True, file_okay=False)
GALLERY_HELP = "PostgreSQL URL (postgresql://user@host/db; password from PGPASSWORD) instead of MODEL_DIR/gallery.db."
PERSON_HELP = "a name, or an id (17, #17 or unnamed/17)"


def _store(model_dir: Path, gallery: Optional[str]):
    from ..gallery import open_gallery

    return run_safely(open_gallery, model_dir, gallery)


def _who() -> str:
    from ..gallery.sqlbase import default_who

    return default_who() + " (cli)"


def _done(model_dir: Path, change) -> None:
    click.echo(f"{change.summary} (change {change.id}; `celebface undo {model_dir}` takes it back)")


def _id(store, ref: str) -> int:
    return run_safely(store.person, ref).id


@main.group(epilog=examples(
    "celebface person list models/celebs",
    'celebface person name models/celebs 17 "Ada Lovelace"'))
def person() -> None:
    """People found in the archive's faces: group, list, name, merge, split, correct, suggestions."""


@person.command("group", epilog=examples(
    "celebface person group models/celebs",
    "celebface person group models/celebs --full"))
@click.argument("model_dir", type=MODEL_DIR)
@click.option("--full", is_flag=True, help="Regroup every face (except those a user placed), not only new ones.")
@click.option("--gallery", default=None, help=GALLERY_HELP)
def group(model_dir: Path, full: bool, gallery: Optional[str]) -> None:
    """Give the archive's new faces to the people they clearly are, and group the rest into new unnamed people."""
    from ..gallery.grouping import group_gallery

    _done(model_dir, run_safely(group_gallery, _store(model_dir, gallery), full=full, who=_who()))


@person.command("list", epilog=examples(
    "celebface person list models/celebs",
    "celebface person list models/celebs --json"))
@click.argument("model_dir", type=MODEL_DIR)
@click.option("--gallery", default=None, help=GALLERY_HELP)
@click.option("--json", "as_json", is_flag=True, help="A JSON list.")
def list_people(model_dir: Path, gallery: Optional[str], as_json: bool) -> None:
    """Every person, named first, then unnamed ones by number of faces."""
    found = run_safely(_store(model_dir, gallery).people_overview)
    if as_json:
        click.echo(json.dumps([p.overview() for p in found]))
        return
    for p in found:
        click.echo(f"{p.id}\t{p.name if p.named else '(unnamed)'}\t{p.sightings} archive face(s)\t"
                   f"{p.faces} enrolled face(s)")
    click.echo(f"{len(found)} people", err=True)


@person.command("faces", epilog=examples(
    "celebface person faces models/celebs 17",
    'celebface person faces models/celebs "Ada Lovelace" --json'))
@click.argument("model_dir", type=MODEL_DIR)
@click.argument("who")
@click.option("--gallery", default=None, help=GALLERY_HELP)
@click.option("--json", "as_json", is_flag=True, help="A JSON list.")
def faces(model_dir: Path, who: str, gallery: Optional[str], as_json: bool) -> None:
    """A person's archive faces: face id, photo, face index, whether a user placed it. WHO: a name or an id."""
    store = _store(model_dir, gallery)
    rows, _, pinned = run_safely(store.person_sightings, _id(store, who))
    out = [{"face": r.id, "path": r.path, "sha256": r.sha256, "time": r.time, "index": r.face, "box": r.box,
            "pinned": bool(p)} for r, p in zip(rows, pinned)]
    if as_json:
        click.echo(json.dumps(out))
        return
    for o in out:
        click.echo(f"{o['face']}\t{o['path']}\tface {o['index']}" + ("\tplaced by a user" if o["pinned"] else ""))


@person.command("name", epilog=examples('celebface person name models/celebs 17 "Ada Lovelace"'))
@click.argument("model_dir", type=MODEL_DIR)
@click.argument("who")
@click.argument("name")
@click.option("--gallery", default=None, help=GALLERY_HELP)
def name(model_dir: Path, who: str, name: str, gallery: Optional[str]) -> None:
    """Name a person (an unnamed one too; their faces stay theirs)."""
    store = _store(model_dir, gallery)
    _done(model_dir, run_safely(store.name_person, _id(store, who), name, who=_who()))


@person.command("move", epilog=examples(
    'celebface person move models/celebs 101 102 --to "Ada Lovelace"',
    "celebface person move models/celebs 103 --new"))
@click.argument("model_dir", type=MODEL_DIR)
@click.argument("face_ids", nargs=-1, type=int, required=True)
@click.option("--to", "to", default=None, help="The person they belong to (" + PERSON_HELP + ").")
@click.option("--new", "new", is_flag=True, help="They are someone not in the gallery yet: a new unnamed person.")
@click.option("--gallery", default=None, help=GALLERY_HELP)
def move(model_dir: Path, face_ids: tuple[int, ...], to: Optional[str], new: bool, gallery: Optional[str]) -> None:
    """Move faces to a person; no later grouping moves them again."""
    if (to is None) == (not new):
        raise click.UsageError("give --to PERSON or --new")
    store = _store(model_dir, gallery)
    _done(model_dir, run_safely(store.move_faces, list(face_ids), None if new else _id(store, to), who=_who()))


@person.command("not", epilog=examples('celebface person not models/celebs "Ada Lovelace" 101 102'))
@click.argument("model_dir", type=MODEL_DIR)
@click.argument("who")
@click.argument("face_ids", nargs=-1, type=int, required=True)
@click.option("--gallery", default=None, help=GALLERY_HELP)
def not_person(model_dir: Path, who: str, face_ids: tuple[int, ...], gallery: Optional[str]) -> None:
    """Mark faces as not this person: they leave them, and no later grouping gives them back."""
    store = _store(model_dir, gallery)
    _done(model_dir, run_safely(store.not_person, list(face_ids), _id(store, who), who=_who()))


@person.command("merge", epilog=examples('celebface person merge models/celebs "Ada Lovelace" 23'))
@click.argument("model_dir", type=MODEL_DIR)
@click.argument("keep")
@click.argument("other")
@click.option("--gallery", default=None, help=GALLERY_HELP)
def merge(model_dir: Path, keep: str, other: str, gallery: Optional[str]) -> None:
    """Make two people one: OTHER's faces become KEEP's (KEEP takes OTHER's name if only OTHER has one)."""
    store = _store(model_dir, gallery)
    _done(model_dir, run_safely(store.merge_people, _id(store, keep), _id(store, other), who=_who()))


@person.command("split", epilog=examples("celebface person split models/celebs 17 101 102"))
@click.argument("model_dir", type=MODEL_DIR)
@click.argument("who")
@click.argument("face_ids", nargs=-1, type=int, required=True)
@click.option("--gallery", default=None, help=GALLERY_HELP)
def split(model_dir: Path, who: str, face_ids: tuple[int, ...], gallery: Optional[str]) -> None:
    """Split these faces off a person into a new unnamed person; the two are never merged again."""
    store = _store(model_dir, gallery)
    _done(model_dir, run_safely(store.split_person, _id(store, who), list(face_ids), who=_who()))


@person.command("apart", epilog=examples("celebface person apart models/celebs 17 23"))
@click.argument("model_dir", type=MODEL_DIR)
@click.argument("a")
@click.argument("b")
@click.option("--gallery", default=None, help=GALLERY_HELP)
def apart(model_dir: Path, a: str, b: str, gallery: Optional[str]) -> None:
    """Two people are not one: stop suggesting them as one."""
    store = _store(model_dir, gallery)
    _done(model_dir, run_safely(store.keep_apart, _id(store, a), _id(store, b), who=_who()))


@person.command("suggest", epilog=examples(
    "celebface person suggest models/celebs",
    "celebface person suggest models/celebs --json"))
@click.argument("model_dir", type=MODEL_DIR)
@click.option("--gallery", default=None, help=GALLERY_HELP)
@click.option("--json", "as_json", is_flag=True, help="A JSON object.")
def suggest(model_dir: Path, gallery: Optional[str], as_json: bool) -> None:
    """People likely one, faces likely given to the wrong person, unnamed people worth naming first."""
    from dataclasses import asdict

    from ..gallery.suggest import suggest_for

    found = run_safely(lambda: suggest_for(_store(model_dir, gallery)))
    if as_json:
        click.echo(json.dumps(asdict(found)))
        return
    for p in found.same_person:
        click.echo(f"same person?\t{p.a}\t{p.b}\tdistance {p.distance:.3f}")
    for m in found.misassigned:
        better = f"\tfits {m.better} better ({m.distance_better:.3f})" if m.better is not None else ""
        click.echo(f"wrong person?\tface {m.sighting}\tof {m.person}\tdistance {m.distance_own:.3f}{better}")
    for pid, n in found.to_name:
        click.echo(f"name next\t{pid}\t{n} face(s)")
