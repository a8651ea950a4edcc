"""`celebface prepare`: faces -> split -> balanced training set."""
from __future__ import annotations

from pathlib import Path

import click

from ..config import FILL_MODES, PICK_MODES, PrepareOptions
from . import main
from .common import POS_INT, PROB, SHARE, engine_options, examples, run_safely


def _print_summary(s: dict, work_dir: Path) -> None:
    click.echo(f"{s['photos']} photos: " + ", ".join(f"{v} {k}" for k, v in sorted(s["status"].items())))
    for name, key in (("unreadable (skipped)", "unreadable"), ("no face (skipped)", "no_face"),
                      ("likely mislabelled (left out; --keep-suspects keeps them)", "suspect")):
        if s[key]:
            click.echo(f"{len(s[key])} {name}:")
            for item in s[key]:
                click.echo("  " + (item if isinstance(item, str) else " ".join(f"{v}" for v in item.values())))
    if s["picked_other_face"]:
        click.echo(f"{len(s['picked_other_face'])} photos: another face than the main one matched the person")
    click.echo(f"{'person':24} train   val  test")
    for person, n in s["per_class"].items():
        click.echo(f"{person:24} {n['train']:5} {n['val']:5} {n['test']:5}")
    click.echo(f"wrote {work_dir}/manifest.json, split.json, dataset.json")


@main.command(epilog=examples(
    "celebface prepare photos/ --out work/",
    "celebface prepare photos/ --out work/ --per-class 200 --workers 2"))
@click.argument("data_dir", type=click.Path(path_type=Path, exists=True, file_okay=False))
@click.option("--out", "work_dir", required=True, type=click.Path(path_type=Path, dir_okay=True, file_okay=False),
              help="WORK_DIR to write.")
@click.option("--per-class", type=POS_INT, default=PrepareOptions.per_class, show_default=True,
              help="Training images per person after balancing.")
@click.option("--val-share", type=click.FloatRange(0, 1, min_open=True, max_open=True),
              default=PrepareOptions.val_share, show_default=True)
@click.option("--test-share", type=SHARE, default=PrepareOptions.test_share, show_default=True)
@click.option("--seed", type=int, default=PrepareOptions.seed, show_default=True)
@click.option("--margin", type=click.FloatRange(0, 1), default=PrepareOptions.margin, show_default=True,
              help="Margin around the face box, share of its size.")
@click.option("--size", type=click.IntRange(32, 1024), default=PrepareOptions.size, show_default=True,
              help="Side of the saved face crops (pixels).")
@click.option("--detect-size", type=click.IntRange(64, 4096), default=PrepareOptions.detect_size,
              show_default=True,
              help="Longest side photos are shrunk to for detection.")
@click.option("--min-prob", type=PROB, default=PrepareOptions.min_prob, show_default=True,
              help="Ignore faces the detector is less sure of.")
@click.option("--align", is_flag=True,
              help="Experimental, not adopted. Align each face crop on its 5 landmarks (eyes level, fixed eye "
                   "distance); models trained on such crops cut faces the same way when they name them. With the "
                   "training defaults it measured -0.23 points of validation accuracy on the mean of celeb5 and "
                   "sports5 (efficientnet_lite0, 3 seeds; bench/accuracy.py --prep align=1).")
@click.option("--pick", type=click.Choice(PICK_MODES), default=PrepareOptions.pick, show_default=True,
              help="In photos with several faces: the face matching the person's other photos, or the main face.")
@click.option("--keep-suspects", is_flag=True, help="Keep photos whose face does not match the person's others.")
@click.option("--fill", type=click.Choice(FILL_MODES), default=PrepareOptions.fill, show_default=True)
@click.option("--rotation", type=click.FloatRange(0, 180), default=PrepareOptions.rotation, show_default=True)
@click.option("--shift", type=click.FloatRange(0, 1), default=PrepareOptions.shift, show_default=True)
@click.option("--shear", type=click.FloatRange(0, 45), default=PrepareOptions.shear, show_default=True)
@click.option("--zoom", type=click.FloatRange(0, 0.9), default=PrepareOptions.zoom, show_default=True)
@click.option("--no-flip", is_flag=True)
@click.option("--gray", type=click.FloatRange(0, 1), default=PrepareOptions.gray, show_default=True,
              help="Share of the augmented training copies made grayscale (for black-and-white photos). "
                   "Experimental, not adopted: 0.2 measured -1.45 points of validation accuracy on celeb5 "
                   "(efficientnet_lite0, 3 seeds; bench/accuracy.py --prep gray=0.2).")
@click.option("--no-group-duplicates", is_flag=True,
              help="Split near-duplicate photos independently (leaky; only to measure what grouping changes).")
@click.option("--workers", type=POS_INT, default=None, help="Worker processes (default: one per core).")
@engine_options
@click.option("--quiet", is_flag=True)
def prepare(data_dir: Path, work_dir: Path, quiet: bool, no_flip: bool, no_group_duplicates: bool, engine: str,
            address, **kw) -> None:
    """Faces from DATA_DIR/<Person>/<photos> -> split -> balanced training set in WORK_DIR."""
    from ..data.prepare import prepare as run

    opts = PrepareOptions(flip=not no_flip, group_duplicates=not no_group_duplicates, **kw)
    runner = None
    if engine == "ray":  # DATA_DIR and WORK_DIR must be on a path every node sees
        from ..scale.prepare_ray import ray_runner

        runner = run_safely(ray_runner, address, kw.get("workers"), quiet=quiet)
    index = run_safely(run, data_dir, work_dir, opts, progress=not quiet, runner=runner)
    _print_summary(index["summary"], work_dir)
