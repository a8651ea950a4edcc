"""The pictures of the documentation, made at build time from the sample data with celebface's own functions.

`docs/hooks.py` calls `make_figures(out_dir)`; each picture is made by one function and written to `out_dir`.
Nothing is downloaded: the models are the ones the install step put in place (`make weights`). A picture whose
inputs are missing is skipped, and the page that shows it says so (never a committed photo).

Run alone: `PYTHONPATH=. python docs/figures.py OUT_DIR`.
"""
from __future__ import annotations

import hashlib
import json
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Optional

ROOT = Path(__file__).resolve().parents[1]
DATASETS = ROOT.parent / "shared" / "datasets"
SPORTS5, CELEB5, EXTRAS = DATASETS / "sports5", DATASETS / "celeb5", DATASETS / "extras"
ENROL_PHOTOS = 4  # photos a person enrolled into the tour's empty gallery
TRAIN_PEOPLE, TRAIN_PHOTOS = 3, 12  # the small training whose plots the training guide shows
PHOTO_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp", ".jfif")


@dataclass
class Figures:
    """Which pictures were made (file name -> caption) and which were skipped (file name -> why)."""

    made: dict[str, str] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)


def photos(folder: Path) -> list[Path]:
    """The photos of a folder, sorted by name.

    :param folder: a person's folder
    """
    return sorted(p for p in folder.iterdir() if p.suffix.lower() in PHOTO_SUFFIXES)


def tour_model(tmp: Path):
    """The tour's recogniser: `celebface.init` (an empty gallery), then each sports5 person enrolled from a few
    photos, as `celebface init` + `celebface enroll` do.

    :param tmp: a scratch folder for the model
    """
    import celebface

    rec = celebface.init(tmp / "model")
    for person in sorted(p for p in SPORTS5.iterdir() if p.is_dir()):
        rec.enroll(person.name, photos(person)[:ENROL_PHOTOS], main_face=True)
    return rec


def annotated_photo(rec, out: Path) -> str:
    """New sports5 photos the gallery never saw, named by `predict_image` and drawn by `annotate` (as
    `celebface predict MODEL PHOTO --annotate OUT` does): the one with the most faces named.

    :param rec: the tour's recogniser
    :param out: the PNG to write
    """
    from celebface.io.images import load_image
    from celebface.recognition.annotate import annotate

    new = sorted((EXTRAS / "sports5_new_photos").rglob("*"))
    results = [(p, rec.predict_image(p)) for p in new if p.suffix.lower() in PHOTO_SUFFIXES]

    def named(item) -> tuple[int, int]:
        return sum(f.name not in (None, "unknown") for f in item[1].faces), len(item[1].faces)

    source, result = max(results, key=named)
    drawn = annotate(load_image(source), result)
    drawn.thumbnail((1000, 1000))
    drawn.save(out)
    names = ", ".join(f.name or f"no name ({f.reason})" for f in result.faces)
    return (f"An empty gallery (`celebface init`), {ENROL_PHOTOS} photos of each sports5 person enrolled, then "
            f"`celebface predict MODEL extras/sports5_new_photos/{source.parent.name}/{source.name} --annotate OUT`, "
            f"a photo it never saw: {names}")


def trained_plots(tmp: Path, out_dir: Path) -> str:
    """A small real training (celeb5, efficientnet_lite0, few images a person and few epochs so the build stays
    short): the confusion matrix and learning curves `train` writes into the model.

    :param tmp: a scratch folder for WORK_DIR and MODEL_DIR
    :param out_dir: where confusion_matrix.png and learning_curves.png go
    """
    import celebface

    data, work, model = tmp / "data", tmp / "work", tmp / "trained"
    for person in sorted(p for p in CELEB5.iterdir() if p.is_dir())[:TRAIN_PEOPLE]:
        (data / person.name).mkdir(parents=True)
        for photo in photos(person)[:TRAIN_PHOTOS]:
            (data / person.name / photo.name).symlink_to(photo)
    celebface.prepare(data, work, celebface.PrepareOptions(per_class=30), progress=False)
    celebface.train(work, model, celebface.TrainOptions(epochs1=10, epochs2=4), progress=False, log=lambda line: None)
    metrics = celebface.evaluate(model, work, progress=False)  # writes the plots into the model, as the CLI does
    for name in ("confusion_matrix.png", "learning_curves.png"):
        shutil.copyfile(model / "current" / name, out_dir / name)
    return (f"{TRAIN_PHOTOS} photos of each of {TRAIN_PEOPLE} celeb5 people, efficientnet_lite0, `prepare "
            f"--per-class 30`, `train --epochs1 10 --epochs2 4` (small, so the site builds in about a minute; not the "
            f"defaults): val accuracy {metrics['val_accuracy']:.3f} on {len(metrics['val_report']['confusion_matrix'])}"
            f" people")


def contact_sheet(tmp: Path, out: Path) -> str:
    """`celebface cluster` on two celeb5 people's photos, names hidden: the contact sheet of its largest cluster.

    :param tmp: a scratch folder for CLUSTERS_DIR
    :param out: the PNG to write
    """
    from celebface.data.cluster import cluster_photos

    people = sorted(p for p in CELEB5.iterdir() if p.is_dir())[:2]
    sources = [p for person in people for p in photos(person)[:12]]
    index = cluster_photos(sources, tmp / "clusters", min_faces=3, workers=1, progress=False)
    biggest = max(index.clusters, key=lambda c: len(c.faces))
    shutil.copyfile(tmp / "clusters" / biggest.id / "contact_sheet.png", out)
    return (f"`celebface cluster` on {len(sources)} photos of {people[0].name} and {people[1].name}: "
            f"{len(index.clusters)} clusters; the largest has {len(biggest.faces)} faces")


def video_timeline(rec, tmp: Path, out: Path) -> str:
    """A short video composed from sports5 photos the gallery never saw (`io.video_compose`, as bench/video.py
    makes its videos), named by `predict_video`; its people drawn on a timeline against the truth.

    :param rec: the tour's recogniser
    :param tmp: a scratch folder for the video
    :param out: the PNG to write
    """
    from celebface.io.video_compose import Shot, compose_video

    people = sorted(p for p in SPORTS5.iterdir() if p.is_dir())[:3]
    shots, t = [], 0.0
    for person in people + people[:1]:
        shots.append(Shot(t, t + 4.0, [photos(person)[-1 - int(t)]], labels=[person.name]))
        t += 5.0
    video = compose_video(shots, tmp / "clip.mp4", size=(640, 360))
    result = rec.predict_video(video, fps=2)
    draw_timeline(shots, result, out)
    return (f"`celebface predict MODEL clip.mp4 --json` on a {t - 1:.0f}-s clip composed from sports5 photos: "
            f"{len(result.people)} people named, {result.unknown_tracks} unknown tracks")


def draw_timeline(shots, result, out: Path) -> None:
    """Who is on screen when: the truth (grey) under each person's named appearances (blue).

    :param shots: the composed video's shots (their labels are the truth)
    :param result: predict_video's VideoResult
    :param out: the PNG to write
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = sorted({s.labels[0] for s in shots} | {p.name for p in result.people})
    fig, ax = plt.subplots(figsize=(9, 0.6 + 0.55 * len(names)))
    for row, name in enumerate(names):
        truth = [(s.start, s.end - s.start) for s in shots if s.labels[0] == name]
        seen = [(a.start, max(a.end - a.start, 0.25)) for p in result.people if p.name == name for a in p.appearances]
        ax.broken_barh(truth, (row - 0.4, 0.3), color="#cccccc", label="on screen (truth)" if row == 0 else None)
        ax.broken_barh(seen, (row - 0.05, 0.4), color="#1f77b4", label="named by celebface" if row == 0 else None)
    ax.set_yticks(range(len(names)), names)
    ax.set_xlabel("seconds")
    ax.set_xlim(0, max(s.end for s in shots) + 1)
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.35 if len(names) < 4 else -0.2), ncol=2, fontsize=8)
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)


def _make(figs: Figures, names: tuple[str, ...], make: Callable[[], str]) -> None:
    """Run one picture's maker; a missing model file or sample folder skips it with the reason."""
    from celebface.errors import CelebfaceError

    t0 = time.time()
    try:
        caption = make()
    except (CelebfaceError, FileNotFoundError, OSError) as exc:
        for name in names:
            figs.skipped[name] = f"{type(exc).__name__}: {exc}"
        return
    for name in names:
        figs.made[name] = caption
    figs.seconds[names[0]] = round(time.time() - t0, 1)


def make_figures(out_dir: Path) -> Figures:
    """Every picture of the documentation into `out_dir` (skipped, with the reason, when the sample data is not at
    ../shared/datasets).

    :param out_dir: where the PNGs and figures.json go
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    figs = Figures()
    if not (SPORTS5.is_dir() and CELEB5.is_dir() and EXTRAS.is_dir()):
        why = f"the sample data is not at {DATASETS} (it sits beside the repository: ../shared/datasets)"
        figs.skipped = {n: why for n in ALL}
        return figs
    with tempfile.TemporaryDirectory(prefix="celebface-docs-") as tmp_name:
        tmp = Path(tmp_name)
        holder: dict = {}
        _make(figs, ("annotated.png",), lambda: annotated_photo(holder.setdefault("rec", tour_model(tmp)),
                                                                 out_dir / "annotated.png"))
        if "rec" in holder:
            _make(figs, ("timeline.png",), lambda: video_timeline(holder["rec"], tmp, out_dir / "timeline.png"))
        else:
            figs.skipped["timeline.png"] = figs.skipped["annotated.png"]
        _make(figs, ("contact_sheet.png",), lambda: contact_sheet(tmp, out_dir / "contact_sheet.png"))
        _make(figs, ("confusion_matrix.png", "learning_curves.png"), lambda: trained_plots(tmp, out_dir))
    return figs


ALL = ("annotated.png", "timeline.png", "contact_sheet.png", "confusion_matrix.png", "learning_curves.png")


def source_key() -> str:
    """What the pictures depend on: this file and celebface's code (a change of either makes them again)."""
    h = hashlib.sha256(Path(__file__).read_bytes())
    for p in sorted((ROOT / "celebface").rglob("*.py")):
        h.update(p.read_bytes())
    return h.hexdigest()[:16]


def cached_figures(cache: Path) -> Figures:
    """make_figures into `cache`, or what the last build made there when the code has not changed since.

    :param cache: a folder kept between builds (out/docs-figures)
    """
    stamp = cache / "figures.json"
    key = source_key()
    if stamp.is_file():
        saved = json.loads(stamp.read_text())
        if saved.get("key") == key and all((cache / n).is_file() for n in saved.get("made", {})):
            return Figures(saved["made"], saved["skipped"], saved.get("seconds", {}))
    if cache.exists():
        shutil.rmtree(cache)
    figs = make_figures(cache)
    if not figs.skipped or DATASETS.is_dir():
        stamp.write_text(json.dumps({"key": key, "made": figs.made, "skipped": figs.skipped,
                                     "seconds": figs.seconds}, indent=1))
    return figs


if __name__ == "__main__":
    result = make_figures(Path(sys.argv[1]))
    print(json.dumps({"made": result.made, "skipped": result.skipped, "seconds": result.seconds}, indent=1))
