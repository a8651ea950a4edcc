"""The `celebface` command: prepare, train, evaluate, predict, enroll, serve."""
from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Optional

import click


def _user_errors() -> tuple[type[BaseException], ...]:
    from .backbones import WeightsError
    from .bundle import BundleError
    from .enroll import EnrollError
    from .extract import DataError
    from .faceembed import ModelFilesMissing
    from .images import ImageError

    return (DataError, WeightsError, BundleError, EnrollError, ImageError, ModelFilesMissing, ValueError)


def run_safely(fn, *args, **kwargs):
    """Errors a user can cause become one clear line and exit code 2, never a traceback."""
    try:
        return fn(*args, **kwargs)
    except _user_errors() as exc:
        click.secho(f"error: {exc}", fg="red", err=True)
        sys.exit(2)
    except KeyboardInterrupt:
        click.echo("interrupted; finished steps are kept and reused next time", err=True)
        sys.exit(130)
    except OSError as exc:
        click.secho(f"error: {exc.strerror or exc} ({exc.filename or ''})", fg="red", err=True)
        sys.exit(2)


THREADS_HELP = "Torch threads (default: one per core); 1 is faster when other jobs share the CPU."


def set_threads(threads: Optional[int]) -> None:
    if threads:
        import torch

        torch.set_num_threads(threads)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="celebface")
def main() -> None:
    """celebface: learn people's faces from a folder of photos, then name the faces in new photos."""


@main.command()
@click.argument("data_dir", type=click.Path(path_type=Path))
@click.option("--out", "work_dir", required=True, type=click.Path(path_type=Path), help="WORK_DIR to write.")
@click.option("--per-class", default=400, show_default=True, help="Training images per person after balancing.")
@click.option("--val-share", default=0.2, show_default=True)
@click.option("--test-share", default=0.0, show_default=True)
@click.option("--seed", default=0, show_default=True)
@click.option("--margin", default=0.2, show_default=True, help="Margin around the face box, share of its size.")
@click.option("--size", default=224, show_default=True, help="Side of the saved face crops (pixels).")
@click.option("--detect-size", default=800, show_default=True, help="Longest side photos are shrunk to for detection.")
@click.option("--min-prob", default=0.90, show_default=True, help="Ignore faces the detector is less sure of.")
@click.option("--pick", type=click.Choice(["embedding", "main"]), default="embedding", show_default=True,
              help="In photos with several faces: the face matching the person's other photos, or the main face.")
@click.option("--keep-suspects", is_flag=True, help="Keep photos whose face does not match the person's others.")
@click.option("--fill", type=click.Choice(["nearest", "reflect", "constant"]), default="nearest", show_default=True)
@click.option("--rotation", default=20.0, show_default=True)
@click.option("--shift", default=0.1, show_default=True)
@click.option("--shear", default=10.0, show_default=True)
@click.option("--zoom", default=0.1, show_default=True)
@click.option("--no-flip", is_flag=True)
@click.option("--workers", type=int, default=None, help="Worker processes (default: one per core).")
@click.option("--quiet", is_flag=True)
def prepare(data_dir: Path, work_dir: Path, quiet: bool, no_flip: bool, **kw) -> None:
    """Faces from DATA_DIR/<Person>/<photos> -> split -> balanced training set in WORK_DIR."""
    from .prepare import PrepareOptions, prepare as run

    opts = PrepareOptions(flip=not no_flip, **kw)
    index = run_safely(run, data_dir, work_dir, opts, progress=not quiet)
    s = index["summary"]
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


@main.command()
@click.argument("work_dir", type=click.Path(path_type=Path))
@click.option("--out", "model_dir", required=True, type=click.Path(path_type=Path), help="MODEL_DIR to write.")
@click.option("--backbone", default="efficientnet_lite0", show_default=True,
              help="densenet121 | efficientnet_lite0 | dlib_face")
@click.option("--weights", default="imagenet", show_default=True,
              help="'imagenet' (the backbone's own source), a weights file PATH, or 'none' (random).")
@click.option("--unfreeze", type=int, default=None, help="Backbone stages fine-tuned in stage 2.")
@click.option("--no-stage2", is_flag=True, help="Stop after stage 1 (frozen backbone).")
@click.option("--epochs1", default=40, show_default=True)
@click.option("--epochs2", default=12, show_default=True)
@click.option("--lr1", default=1e-3, show_default=True)
@click.option("--lr2", default=1e-3, show_default=True, help="Learning rate of the unfrozen backbone stages (the head gets 5x).")
@click.option("--batch-size", default=64, show_default=True)
@click.option("--patience", default=5, show_default=True)
@click.option("--seed", default=0, show_default=True)
@click.option("--device", default="auto", show_default=True, help="auto | cpu | cuda")
@click.option("--precision", type=click.Choice(["auto", "fp32", "bf16"]), default="auto", show_default=True,
              help="bf16 autocast for the backbone; auto = bf16 on CPUs with AVX512-BF16/AMX and bf16 GPUs.")
@click.option("--threads", type=int, default=None, help=THREADS_HELP)
@click.option("--quiet", is_flag=True)
def train(work_dir: Path, model_dir: Path, no_stage2: bool, quiet: bool, **kw) -> None:
    """Two-stage transfer learning on WORK_DIR; writes the model bundle to MODEL_DIR."""
    from .evaluate import table
    from .train import TrainOptions, train as run

    opts = TrainOptions(stage2=not no_stage2, **kw)
    bundle = run_safely(run, work_dir, model_dir, opts, progress=not quiet)
    click.echo(table(bundle.metrics))
    click.echo(f"wrote {model_dir}")


@main.command()
@click.argument("model_dir", type=click.Path(path_type=Path))
@click.argument("work_dir", type=click.Path(path_type=Path))
@click.option("--device", default="auto", show_default=True)
@click.option("--quiet", is_flag=True)
def evaluate(model_dir: Path, work_dir: Path, device: str, quiet: bool) -> None:
    """Figures of MODEL_DIR on WORK_DIR's validation photos; writes MODEL_DIR/metrics.json and plots."""
    from .evaluate import evaluate as run, table

    metrics = run_safely(run, model_dir, work_dir, device, progress=not quiet)
    click.echo(table(metrics))
    rep = metrics["val_report"]["per_class"]
    click.echo(f"\n{'person':24} precision recall    f1  support")
    for name, r in rep.items():
        if name in ("accuracy", "macro avg", "weighted avg"):
            continue
        click.echo(f"{name:24} {r['precision']:9.3f} {r['recall']:6.3f} {r['f1-score']:6.3f} {int(r['support']):8d}")
    click.echo(f"wrote {model_dir}/metrics.json, confusion_matrix.png, learning_curves.png")


def _expand(paths: tuple[Path, ...]) -> list[Path]:
    from .images import is_image_name

    out: list[Path] = []
    for p in paths:
        if p.is_dir():
            out += sorted(f for f in p.rglob("*") if f.is_file() and is_image_name(f))
        else:
            out.append(p)
    return out


@main.command()
@click.argument("model_dir", type=click.Path(path_type=Path))
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="One JSON object per photo.")
@click.option("--annotate", "annotate_dir", type=click.Path(path_type=Path), help="Write annotated copies here.")
@click.option("--threshold", type=float, default=None, help="Override the bundle's 'unknown' threshold.")
@click.option("--device", default="auto", show_default=True, help="auto | cpu | cuda")
@click.option("--threads", type=int, default=None, help=THREADS_HELP)
def predict(model_dir: Path, paths: tuple[Path, ...], as_json: bool, annotate_dir: Optional[Path],
            threshold: Optional[float], device: str, threads: Optional[int]) -> None:
    """Name every face in the photos (files or folders)."""
    from .predict import annotate, load

    set_threads(threads)
    rec = run_safely(load, model_dir, device, threshold)
    for result, img in rec.predict_many_with_images(_expand(paths)):
        if as_json:
            click.echo(json.dumps(result))
        elif result["error"]:
            click.echo(f"{result['image']}: error: {result['error']}")
        elif not result["faces"]:
            click.echo(f"{result['image']}: no face")
        else:
            names = ", ".join(f"{f['name']} ({f['confidence']:.2f})" for f in result["faces"])
            click.echo(f"{result['image']}: {names}")
        if annotate_dir and img is not None:
            annotate_dir.mkdir(parents=True, exist_ok=True)
            src = Path(result["image"])
            dst = annotate_dir / f"{src.stem}.annotated.jpg"
            tmp = dst.with_name("." + dst.name + ".tmp")
            annotate(img, result).save(tmp, format="JPEG", quality=90)
            os.replace(tmp, dst)


@main.command()
@click.argument("model_dir", type=click.Path(path_type=Path))
@click.argument("photos", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--name", required=True, help="The person's name.")
@click.option("--device", default="auto", show_default=True)
def enroll(model_dir: Path, photos: tuple[Path, ...], name: str, device: str) -> None:
    """Add or update a person from a few photos (folders or files), without retraining the backbone."""
    from .predict import load

    rec = run_safely(load, model_dir, device)
    files = _expand(photos)
    summary = run_safely(rec.enroll, name, files)
    verb = "updated" if summary["updated"] else "added"
    click.echo(f"{verb} {name} from {summary['faces']} face(s) in {summary['photos']} photo(s) "
               f"in {summary['seconds']:.1f}s; the model now knows {len(rec.classes)} people")
    for s in summary["skipped"]:
        click.echo(f"  skipped {s}")


@main.command()
@click.argument("model_dir", type=click.Path(path_type=Path))
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True)
@click.option("--token", default=None, help="Require 'Authorization: Bearer TOKEN' on every API call.")
@click.option("--max-upload-mb", default=10.0, show_default=True)
@click.option("--threads", type=int, default=None, help=THREADS_HELP)
def serve(model_dir: Path, host: str, port: int, token: Optional[str], max_upload_mb: float,
          threads: Optional[int]) -> None:
    """Web page and REST API on http://HOST:PORT/ (API docs at /docs)."""
    from .serve import run

    set_threads(threads)
    run_safely(run, model_dir, host, port, token, max_upload_mb)


@main.command()
def backbones() -> None:
    """List the backbones."""
    from .backbones import REGISTRY

    for spec in REGISTRY.values():
        click.echo(f"{spec.name:20} {spec.description}")


if __name__ == "__main__":
    main()
