"""`celebface train` and `evaluate`: making models (enrolment is in cli/gallery.py)."""
from __future__ import annotations

from pathlib import Path

import click

from ..config import PRECISIONS, SCHEDULES, TrainOptions
from . import main
from .common import (POS_FLOAT, POS_INT, device_option, engine_options, examples, run_safely, threads_option,
                     train_identity_option, warn_precision)


@main.command(epilog=examples(
    "celebface train work/ --out models/celebs",
    "celebface train work/ --out models/celebs-dlib --backbone dlib_face --strangers strangers/"))
@click.argument("work_dir", type=click.Path(path_type=Path, exists=True, file_okay=False))
@click.option("--out", "model_dir", required=True, type=click.Path(path_type=Path), help="MODEL_DIR to write "
              "(a new or empty folder, or a celebface model: it is replaced safely, earlier versions kept).")
@click.option("--backbone", type=click.Choice(["densenet121", "efficientnet_lite0", "efficientnet_lite1",
                                                "efficientnet_lite2", "dlib_face", "fusion", "fusion_lite1",
                                                "fusion_lite2"]),
              default=TrainOptions.backbone, show_default=True)
@click.option("--weights", default=TrainOptions.weights, show_default=True,
              help="'imagenet' (the backbone's own source), a weights file PATH, or 'none' (random).")
@click.option("--unfreeze", type=click.IntRange(min=0), default=None,
              help="Backbone stages fine-tuned in stage 2 (default the backbone's own: 4 for efficientnet_lite0/1/2, "
                   "2 for densenet121).")
@click.option("--input-size", type=click.IntRange(32, 1024), default=None,
              help="Side in pixels of the images the CNN sees (crops are resized to it; default the backbone's own: "
                   "160 for efficientnet_lite0/1/2, 224 for densenet121).")
@click.option("--no-stage2", is_flag=True, help="Stop after stage 1 (frozen backbone).")
@click.option("--epochs1", type=POS_INT, default=TrainOptions.epochs1, show_default=True)
@click.option("--epochs2", type=POS_INT, default=TrainOptions.epochs2, show_default=True)
@click.option("--lr1", type=click.FloatRange(0, 1, min_open=True), default=TrainOptions.lr1, show_default=True)
@click.option("--lr2", type=click.FloatRange(0, 1, min_open=True), default=TrainOptions.lr2, show_default=True,
              help="Learning rate of the unfrozen backbone stages (the head gets 5x).")
@click.option("--batch-size", type=click.IntRange(min=2), default=TrainOptions.batch_size, show_default=True)
@click.option("--patience", type=POS_INT, default=TrainOptions.patience, show_default=True,
              help="Stage 1: epochs without a lower validation loss before stopping (the learning rate is cut after "
                   "half as many, in both stages).")
@click.option("--patience2", type=POS_INT, default=TrainOptions.patience2, show_default=True,
              help="Stage 2: epochs without a lower validation loss before stopping (the best epoch's weights ship).")
@click.option("--schedule", type=click.Choice(SCHEDULES), default=TrainOptions.schedule, show_default=True,
              help="Stage 2's learning rate: cut by 0.3 when the validation loss stalls (plateau), or annealed to 0 "
                   "over --epochs2 (cosine: experimental, not adopted: -0.50 points of validation accuracy on the "
                   "mean of celeb5, sports5 and glint12, efficientnet_lite0, 3 seeds; bench/accuracy.py --set "
                   "schedule=cosine).")
@click.option("--act-dropout", type=click.FloatRange(0, 1, max_open=True), default=TrainOptions.act_dropout,
              show_default=True,
              help="Stage 2: share of the cached activations' channels dropped at random in each training step "
                   "(a regulariser: the frozen part's output is computed once per image; 0 turns it off).")
@click.option("--cutmix", type=click.FloatRange(0, 1), default=TrainOptions.cutmix, show_default=True,
              help="Experimental, not adopted. Stage 2: share of training batches with CutMix on the cached "
                   "activations (a box of each sample's feature maps taken from another sample, the labels weighted "
                   "by area; 0 turns it off). 0.5 measured -1.02 points of validation accuracy on the mean of "
                   "celeb5, sports5 and glint12 (glint12 -2.60), efficientnet_lite0, 3 seeds (bench/accuracy.py "
                   "--set cutmix=0.5).")
@click.option("--distill", type=click.FloatRange(0, 100), default=TrainOptions.distill, show_default=True,
              help="Experimental, not adopted. Stage 2: weight of a second loss teaching the CNN to predict each "
                   "training face's dlib embedding (a face network's knowledge, through a layer used in training "
                   "only; 0 turns it off). 1 measured -0.24 points of validation accuracy on the mean of celeb5, "
                   "sports5 and glint12 (sports5 -0.92), efficientnet_lite0, 3 seeds (bench/accuracy.py --set "
                   "distill=1).")
@click.option("--seed", type=int, default=TrainOptions.seed, show_default=True)
@device_option
@click.option("--precision", type=click.Choice(PRECISIONS), default=TrainOptions.precision,
              show_default=True,
              help="bf16 autocast for the backbone: experimental, faster on CPUs with AVX512-BF16/AMX and on "
                   "GPUs, but one glint12 run lost 2.3 points of validation accuracy with it (issue 12, one seed), "
                   "so auto = fp32.")
@threads_option
@click.option("--strangers", type=click.Path(exists=True, file_okay=False), default=None,
              help="A folder of photos of people the model must NOT name: calibrates \"unknown\" on real strangers "
                   "(the other faces in the training photos are used too).")
@train_identity_option
@engine_options
@click.option("--workers", type=POS_INT, default=2, show_default=True,
              help="With --engine ray: data-parallel workers for stage 2 (1 CPU or GPU each).")
@click.option("--quiet", is_flag=True)
def train(work_dir: Path, model_dir: Path, no_stage2: bool, quiet: bool, engine: str, address, workers: int,
          **kw) -> None:
    """Two-stage transfer learning on WORK_DIR; writes the model bundle to MODEL_DIR."""
    from ..training.report import table
    from ..training.train import train as run

    opts = TrainOptions(stage2=not no_stage2, **kw)
    warn_precision(opts.precision, opts.device)
    stage2 = activations = None
    if engine == "ray":  # WORK_DIR must be on a path every node sees (Ray reads its images, keeps checkpoints)
        from ..scale.features_ray import ray_activations
        from ..scale.train_ray import ray_stage2

        stage2 = run_safely(ray_stage2, address, workers, str(Path(work_dir).resolve() / "ray_train"), quiet)
        activations = run_safely(ray_activations, address, opts.weights, None, quiet)
    bundle = run_safely(run, work_dir, model_dir, opts, progress=not quiet, stage2=stage2, activations=activations)
    click.echo(table(bundle.metrics))
    click.echo(f"wrote {model_dir} (version {bundle.version})")


def _print_per_class(rep: dict) -> None:
    click.echo(f"\n{'person':24} precision recall    f1  support")
    for name, r in rep.items():
        if name in ("accuracy", "macro avg", "weighted avg"):
            continue
        click.echo(f"{name:24} {r['precision']:9.3f} {r['recall']:6.3f} {r['f1-score']:6.3f} {int(r['support']):8d}")


@main.command(epilog=examples("celebface evaluate models/celebs work/"))
@click.argument("model_dir", type=click.Path(path_type=Path, exists=True, file_okay=False))
@click.argument("work_dir", type=click.Path(path_type=Path, exists=True, file_okay=False))
@device_option
@click.option("--quiet", is_flag=True)
def evaluate(model_dir: Path, work_dir: Path, device: str, quiet: bool) -> None:
    """Figures of MODEL_DIR on WORK_DIR's validation photos; writes MODEL_DIR/metrics.json and plots."""
    from ..training.evaluate import evaluate as run
    from ..training.report import table

    metrics = run_safely(run, model_dir, work_dir, device, progress=not quiet)
    click.echo(table(metrics))
    _print_per_class(metrics["val_report"]["per_class"])
    click.echo(f"wrote {model_dir}/metrics.json, confusion_matrix.png, learning_curves.png")
