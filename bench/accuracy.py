"""Accuracy across datasets, backbones and seeds, plus the open-set check; writes bench/accuracy.md.

    .venv/bin/python bench/accuracy.py [--seeds 0 1 2] [--datasets celeb5 sports5 glint12] [--per-class 400]
                                       [--backbones efficientnet_lite0 dlib_face fusion] [--rescore]
                                       [--set epochs2=24 --set unfreeze=3 ...] [--prep align=1]

--set KEY=VALUE changes a TrainOptions field from its default (a candidate default), --prep KEY=VALUE a
PrepareOptions field; the rows record both.

Each dataset is prepared once per seed in one WORK_DIR (face extraction and embeddings are reused across
seeds; the split and the augmented training set change with the seed). Figures are validation figures on
photos whose augmented copies never reach training. The final figures are those of the model as shipped: the
validation crops named through `Recognizer.name_crops`, as `celebface predict` names faces (the "unknown" gate
off); each seed's split is kept in WORK_DIR/splits/, and `--rescore` scores the models of an earlier run again on
them without training anything.
"""
from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Iterator

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DATASETS = ROOT.parent / "shared" / "datasets"


def option_pairs(pairs: list[str], kind: str = "TrainOptions") -> dict:
    """--set (or --prep) KEY=VALUE pairs as TrainOptions (PrepareOptions) fields, each value converted to the
    field's default's type."""
    from dataclasses import fields

    from celebface import config

    types = {f.name: type(f.default) for f in fields(getattr(config, kind))}
    out = {}
    for pair in pairs:
        key, _, value = pair.partition("=")
        if key not in types:
            raise SystemExit(f"{pair}: {key} is not a {kind} field ({', '.join(sorted(types))})")
        typ = types[key]
        out[key] = (value.lower() in ("1", "true", "yes")) if typ is bool else \
            int(value) if typ in (int, type(None)) and value.lstrip("-").isdigit() else \
            float(value) if typ is float else value
    return out


def run_one(dataset: str, seed: int, backbones: list[str], per_class: int, work_root: Path,
            overrides: dict | None = None, group: bool = True, prep: dict | None = None) -> list[dict]:
    """Prepare `dataset` with this seed (and `prep`'s PrepareOptions), train each backbone (with `overrides`'
    TrainOptions), and return their raw rows (printed as they come)."""
    from celebface.config import PrepareOptions, TrainOptions
    from celebface.data.prepare import prepare
    from celebface.training.train import train

    work = work_root / dataset
    t0 = time.time()
    kw = {"seed": seed, "per_class": per_class, "group_duplicates": group, **(prep or {})}  # --prep wins
    prepare(DATASETS / dataset, work, PrepareOptions(**kw), progress=False)
    prep_s = time.time() - t0
    splits = work_root / "splits"  # each seed's split, kept for analyses after the work dir is prepared again
    splits.mkdir(exist_ok=True)
    shutil.copyfile(work / "dataset.json", split_file(work_root, dataset, seed, group))
    shutil.copyfile(work / "split.json", photo_split_file(work_root, dataset, seed, group))
    rows, options = [], {**(prep or {}), **(overrides or {})}  # as the rows and the model folders record them
    for bb in backbones:
        t0 = time.time()
        model = work_root / f"model-{dataset}-{bb}-{seed}{tag_of(options)}"
        b = train(work, model, TrainOptions(backbone=bb, seed=seed, **(overrides or {})), progress=False,
                  log=lambda s: None)
        rows.append(result_row(dataset, seed, bb, options, group, b.metrics, model, work, round(prep_s, 1),
                               round(time.time() - t0, 1)))
        print(json.dumps(rows[-1]), flush=True)
    return rows


def tag_of(overrides: dict | None) -> str:
    return "".join(f"-{k}{v}" for k, v in sorted((overrides or {}).items()))


def split_file(work_root: Path, dataset: str, seed: int, group: bool) -> Path:
    return work_root / "splits" / f"{dataset}-{seed}{'' if group else '-nogroup'}.json"


def photo_split_file(work_root: Path, dataset: str, seed: int, group: bool) -> Path:
    """The seed's split.json (photo lists), which the photo-level figures (b) and (c) read."""
    return split_file(work_root, dataset, seed, group).with_suffix(".photos.json")


def result_row(dataset: str, seed: int, bb: str, overrides: dict | None, group: bool, m: dict, model: Path,
               work: Path, prep_s: float | None, train_s: float | None) -> dict:
    """One raw row: the training figures (stage 1, stage 2), the model as shipped on the validation faces (a), and on
    the validation photos through predict (b: suspects included, c: single-face photos; training/photo_eval.py)."""
    import celebface
    from celebface.training.photo_eval import photo_level

    acc, f1, n = shipped_figures(model, work)
    photos = photo_level(celebface.load(model), work)
    b, c = photos.get("photo_level", {}), photos.get("single_face", {})
    return {"dataset": dataset, "seed": seed, "backbone": bb, "options": overrides or {}, "group": group,
            "prepare_s": prep_s, "train_s": train_s,
            "stage1_val_acc": m["stage1"]["val_accuracy"], "stage1_val_f1": m["stage1"]["val_macro_f1"],
            "stage2_val_acc": m["stage2"].get("val_accuracy"), "stage2_val_f1": m["stage2"].get("val_macro_f1"),
            "trained_val_acc": m["val_accuracy"], "val_acc": acc, "val_f1": f1, "n_val": n,
            "photo_acc": b.get("accuracy"), "photo_f1": b.get("macro_f1"), "n_photo": b.get("n"),
            "photo_suspects": b.get("suspects"), "predict_s_per_photo": b.get("predict_seconds_per_photo"),
            "single_acc": c.get("accuracy"), "single_f1": c.get("macro_f1"), "n_single": c.get("n"),
            "photo_wrong": b.get("wrong"), "photo_missed_as": b.get("missed_as")}


def shipped_figures(model: Path, work: Path) -> tuple[float, float, int]:
    """Accuracy and macro-F1 of the model as `celebface predict` names faces (its matcher's best person; the
    "unknown" gate off) on WORK_DIR's validation crops. For CNN backbones that is the trained head; for dlib_face the
    nearest gallery face, not the head trained on its embeddings that stage 1 reports."""
    import celebface
    from PIL import Image
    from sklearn.metrics import f1_score

    rec = celebface.load(model)
    ds = json.loads((work / "dataset.json").read_text())
    val = ds["splits"]["val"]
    best = []
    for i in range(0, len(val), 32):
        crops = [Image.open(work / it["file"]).convert("RGB") for it in val[i:i + 32]]
        best += [m.top[0][0] if m.top else "unknown" for m in rec.name_crops(crops)]
    truth = [ds["classes"][it["label"]] for it in val]
    acc = float(np.mean([b == t for b, t in zip(best, truth)]))
    return acc, float(f1_score(truth, best, labels=ds["classes"], average="macro", zero_division=0)), len(val)


def spread(xs: list) -> str:
    """" (91.3-100.0)": the seeds' min-max in percent, or "" when none was measured."""
    xs = [x for x in xs if x is not None]
    return f" ({100 * min(xs):.1f}-{100 * max(xs):.1f})" if xs else ""


def misses(rs: list[dict]) -> str:
    """(b)'s wrong photos over the seeds by cause (training/photo_eval.missed_as); "-" for rows from before."""
    from celebface.training.photo_eval import MISS_CAUSES

    got = [r["photo_missed_as"] for r in rs if r.get("photo_missed_as")]
    return " / ".join(str(sum(m.get(k, 0) for m in got)) for k in MISS_CAUSES) if got else "-"


def table_row(ds: str, bb: str, rs: list[dict], mean, f1) -> str:
    """One row of the table: a dataset and backbone over the seeds (means, with the seeds' min-max)."""
    acc, photo = [r["val_acc"] for r in rs], [r.get("photo_acc") for r in rs]
    gaps = [p - a for p, a in zip(photo, acc) if p is not None]
    gap = f"{100 * statistics.mean(gaps):+.2f}" if gaps else "-"
    secs = [r["train_s"] for r in rs if r.get("train_s") is not None]
    pred = [r["predict_s_per_photo"] for r in rs if r.get("predict_s_per_photo") is not None]
    return (f"| {ds} (val n={rs[0]['n_val']}, photos n={rs[0].get('n_photo')}) | {bb} | "
            f"{mean([r['stage1_val_acc'] for r in rs])} | {mean([r['stage2_val_acc'] for r in rs])} | "
            f"{mean(acc)}{spread(acc)} | {f1([r['val_f1'] for r in rs])} | {mean(photo)}{spread(photo)} | "
            f"{f1([r.get('photo_f1') for r in rs])} | {mean([r.get('single_acc') for r in rs])} | {gap} | "
            f"{misses(rs)} | {f'{min(secs):.0f}-{max(secs):.0f}' if secs else '-'} | "
            f"{f'{statistics.mean(pred):.3f}' if pred else '-'} |")


def rescore(dataset: str, seed: int, backbones: list[str], work_root: Path, overrides: dict | None,
            group: bool, fuse_from: str | None = None) -> list[dict]:
    """The rows of models trained earlier, scored again as shipped on their own seed's saved split.

    :param fuse_from: score the fusion rows from this backbone's models (efficientnet_lite0: the fusion backbone
        trains exactly that network, the same way; only the naming differs, and that is read from the config)
    """
    rows = []
    with split_view(work_root, dataset, seed, group) as view:
        for bb in backbones:
            model = work_root / f"model-{dataset}-{bb}-{seed}{tag_of(overrides)}"
            if bb == "fusion" and fuse_from:
                model = fused_copy(work_root / f"model-{dataset}-{fuse_from}-{seed}{tag_of(overrides)}", view)
            m = json.loads((model / "current" / "metrics.json").read_text())
            rows.append(result_row(dataset, seed, bb, overrides, group, m, model, view, None, None))
            print(json.dumps(rows[-1]), flush=True)
    return rows


@contextlib.contextmanager
def split_view(work_root: Path, dataset: str, seed: int, group: bool = True) -> Iterator[Path]:
    """A temporary WORK_DIR holding seed's saved split over the dataset's face crops (the crops do not change with
    the seed), as the run of that seed left it: what a model of that seed is scored on."""
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        view = Path(tmp)
        shutil.copyfile(split_file(work_root, dataset, seed, group), view / "dataset.json")
        (view / "faces").symlink_to((work_root / dataset / "faces").resolve())
        shutil.copyfile(work_root / dataset / "manifest.json", view / "manifest.json")
        photo_split = photo_split_file(work_root, dataset, seed, group)
        if not photo_split.is_file() and json.loads((work_root / dataset / "split.json").read_text())["seed"] == seed:
            photo_split = work_root / dataset / "split.json"  # a run before the seeds' split.json were kept
        if photo_split.is_file():
            shutil.copyfile(photo_split, view / "split.json")
        yield view


def fused_copy(model: Path, tmp: Path) -> Path:
    """A copy of a CNN model whose config names faces as the fusion backbone does (head + dlib embedding)."""
    from celebface.faces.backbones import get_spec
    from celebface.recognition.fusion import fusion_config

    copy = tmp / f"fused-{model.name}"
    shutil.copytree(model, copy, symlinks=True)
    config_file = copy / "current" / "config.json"
    config = json.loads(config_file.read_text())
    config["fusion"] = fusion_config(get_spec("fusion").face_fusion)
    config_file.write_text(json.dumps(config))
    return copy


def open_set(work_root: Path, per_class: int, only: list[str] | None = None) -> list[dict]:
    """Leave each sports5 person out of training in turn; how many of their faces come out "unknown"?"""
    import celebface
    from PIL import Image

    from celebface.config import PrepareOptions, TrainOptions
    from celebface.data.prepare import prepare
    from celebface.training.train import train
    from openset import without_person  # bench/openset.py, beside this script

    full = work_root / "sports5"  # prepared by run_one: its manifest has every photo's chosen face
    manifest = json.loads((full / "manifest.json").read_text())["photos"]
    people = sorted({r["person"] for r in manifest})
    rows = []
    for out in [p for p in people if not only or p in only]:
        data = without_person(DATASETS / "sports5", people, out, work_root / f"openset-data-{out}")
        work = work_root / f"openset-work-{out}"
        prepare(data, work, PrepareOptions(per_class=per_class), progress=False)
        model = work_root / f"openset-model-{out}"
        train(work, model, TrainOptions(backbone="dlib_face"), progress=False, log=lambda s: None)
        rec = celebface.load(model)
        crops = [Image.open(full / r["faces"][r["chosen"]]["crop"]) for r in manifest
                 if r["person"] == out and r["chosen"] is not None and not r["suspect"]]
        res = rec.classify(rec.embed(crops))
        unknown = float(np.mean([x.name == "unknown" for x in res]))
        ds = json.loads((work / "dataset.json").read_text())
        val = ds["splits"]["val"]
        vres = rec.classify(rec.embed([Image.open(work / it["file"]) for it in val]))
        named = float(np.mean([x.name == ds["classes"][it["label"]] for x, it in zip(vres, val)]))
        rows.append({"left_out": out, "faces": len(crops), "called_unknown": unknown,
                     "others_val_named_correctly": named, "threshold": rec.threshold})
        print(json.dumps(rows[-1]), flush=True)
    return rows


def main() -> None:
    from celebface.training.photo_eval import MISS_CAUSES

    ap = argparse.ArgumentParser()
    ap.add_argument("--datasets", nargs="+", default=["celeb5", "sports5", "glint12"])
    ap.add_argument("--backbones", nargs="+", default=["efficientnet_lite0", "dlib_face", "fusion"])
    ap.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    ap.add_argument("--per-class", type=int, default=400)
    ap.add_argument("--work", type=Path, default=ROOT / "out" / "accuracy")
    ap.add_argument("--no-open-set", action="store_true")
    ap.add_argument("--open-set-people", nargs="*", default=None, help="sports5 people to leave out (default all)")
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "accuracy.md")
    ap.add_argument("--prep", action="append", default=[], metavar="KEY=VALUE",
                    help="a PrepareOptions field changed from its default, e.g. align=1 (repeatable)")
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                    help="a TrainOptions field changed from its default, e.g. epochs2=24 (repeatable)")
    ap.add_argument("--rescore", action="store_true",
                    help="train nothing: score the models of an earlier run again on their saved splits")
    ap.add_argument("--fuse-from", default=None, metavar="BACKBONE",
                    help="with --rescore: score the fusion rows from this CNN backbone's models (the same network, "
                         "trained the same way; only the naming differs)")
    ap.add_argument("--no-group", action="store_true",
                    help="split photo by photo, near-duplicates not kept together (to measure what grouping changes)")
    args = ap.parse_args()
    overrides, prep = option_pairs(args.set), option_pairs(args.prep, "PrepareOptions")
    os.environ.setdefault("CELEBFACE_OFFLINE", "1")
    args.work.mkdir(parents=True, exist_ok=True)
    if args.rescore:
        rows = [r for ds in args.datasets for seed in args.seeds
                for r in rescore(ds, seed, args.backbones, args.work, {**prep, **overrides}, not args.no_group,
                                 args.fuse_from)]
    else:
        rows = [r for ds in args.datasets for seed in args.seeds
                for r in run_one(ds, seed, args.backbones, args.per_class, args.work, overrides, not args.no_group,
                                 prep)]
    lines = [f"# Accuracy (validation, 80/20 split by source photo, {len(args.seeds)} seeds: "
             f"{' '.join(map(str, args.seeds))}; {args.per_class} training images per person)", "",
             f"Date {time.strftime('%Y-%m-%d')}, commit {subprocess.run(['git', 'rev-parse', '--short', 'HEAD'], capture_output=True, text=True, cwd=ROOT).stdout.strip()}. "
             f"Command: `.venv/bin/python bench/accuracy.py {' '.join(sys.argv[1:])}`", "",
             "| dataset | backbone | stage 1 val acc | stage 2 val acc | (a) final val acc, as shipped (min-max) | "
             "(a) macro-F1 | (b) photos through predict (min-max) | (b) macro-F1 | (c) single-face photos | "
             f"(b) - (a) | (b) misses, all seeds: {' / '.join(MISS_CAUSES)} | train s | predict s/photo |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    if overrides or prep or args.no_group:
        lines[2:2] = [f"Training options changed from the defaults: {overrides or 'none'}; prepare options changed: "
                      f"{prep or 'none'}; near-duplicate photos "
                      f"{'NOT kept together (--no-group)' if args.no_group else 'kept on one side of the split'}.", ""]

    def mean(xs: list) -> str:
        xs = [x for x in xs if x is not None]
        return f"{100 * statistics.mean(xs):.2f}%" if xs else "-"

    def f1(xs: list) -> str:
        xs = [x for x in xs if x is not None]
        return f"{statistics.mean(xs):.4f}" if xs else "-"

    for ds in args.datasets:
        for bb in args.backbones:
            rs = [r for r in rows if r["dataset"] == ds and r["backbone"] == bb]
            lines.append(table_row(ds, bb, rs, mean, f1))
    lines += ["", "Final = the model as `celebface predict` names faces (its matcher's best person, the \"unknown\" "
              "gate off): the trained head for CNN backbones, the nearest gallery face for dlib_face (its stage-1 "
              "column is the head trained on its embeddings, which predict does not use). (b): every validation "
              "photo, suspects and photos prepare found no face in included (those outside the split drawn with the "
              "validation share), through `celebface.load(model).predict_image` with its \"unknown\" gate; right when "
              "the labelled person is named on a face and the labelled face is named as no other person. (c): (b) on "
              "the photos where prepare found one face. train s: seconds to train (min-max over seeds); predict "
              "s/photo: (b)'s predict time per photo (detection included) on this machine."]
    if not args.no_open_set and not args.rescore and "sports5" in args.datasets:
        lines += ["", "## Open set: one sports5 person left out of training at a time (dlib_face, seed 0 split)", "",
                  "| left out | their faces | called unknown | other people's val faces named correctly | threshold |",
                  "|---|---|---|---|---|"]
        for r in open_set(args.work, args.per_class, args.open_set_people):
            lines.append(f"| {r['left_out']} | {r['faces']} | {100 * r['called_unknown']:.1f}% | "
                         f"{100 * r['others_val_named_correctly']:.1f}% | {r['threshold']:.3f} |")
    lines += ["", "Raw rows:", "", "```", *[json.dumps(r) for r in rows], "```"]
    args.out.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
