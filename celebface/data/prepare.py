"""`celebface prepare`: photos -> face crops -> choice of face -> split -> balanced training set.

WORK_DIR afterwards holds:
  manifest.json   one entry per source photo: status, boxes, probabilities, chosen face, suspect flag
  faces/          square face crops (every candidate face of every photo)
  split.json      which photos are train / val / test (seeded, by source photo; near-duplicate photos, listed
                  in "groups", stay on one side)
  train_aug/      augmented training copies
  dataset.json    the dataset: classes and, per split, image files with their source photo
"""
from __future__ import annotations

import hashlib
import json
import shutil
from collections import Counter
from dataclasses import asdict
from pathlib import Path
from typing import Optional

from ..config import PrepareOptions
from ..errors import DataError
from ..io.fileio import read_json, write_json
from ..io.sources import list_photos
from .augment import balance
from .duplicates import near_duplicate_groups
from .extract import Runner, extract_faces
from .manifest import PhotoRecord
from .split import split_photos


def prepare(data_dir: Path, work_dir: Path, options: PrepareOptions = PrepareOptions(),
            progress: bool = True, runner: Optional[Runner] = None) -> dict:
    """Run every step; returns the dataset index (also written to WORK_DIR/dataset.json).

    :param runner: where face extraction runs (default: local worker processes; see extract_faces)
    """
    options.check()
    data_dir, work_dir = Path(data_dir).resolve(), Path(work_dir).resolve()
    if work_dir == data_dir or data_dir in work_dir.parents:
        raise DataError("WORK_DIR must be outside DATA_DIR (otherwise crops would be read as photos).")
    jobs = list_photos(data_dir)
    records = extract_faces(jobs, work_dir, options.extract, options.workers, progress, runner,
                            extras=options.group_duplicates)
    if options.pick == "embedding":
        from .select import choose_faces

        choose_faces(records, work_dir, progress=progress)
    write_json(work_dir / "manifest.json", {"data_dir": str(data_dir), "settings": asdict(options),
                                            "photos": [r.to_dict() for r in records]})
    usable = [r for r in records if r.chosen is not None and (options.keep_suspects or not r.suspect)]
    groups = near_duplicate_groups(data_dir, usable, work_dir, options.workers) if options.group_duplicates else []
    split = split_photos([(r.file, r.person) for r in usable], options.val_share, options.test_share,
                         options.seed, groups=groups)
    write_json(work_dir / "split.json", {"seed": options.seed, "val_share": options.val_share,
                                         "test_share": options.test_share, **split, "groups": groups})
    crop_of = {r.file: r.chosen_crop for r in usable}
    person_of = {r.file: r.person for r in usable}
    classes = sorted({r.person for r in usable})
    evals = _eval_splits(split, crop_of, person_of, classes)
    recipe_hash = _recipe_hash(options, split, crop_of, work_dir)
    index = _reusable_index(work_dir, recipe_hash)
    if index is None:
        train_items = _balanced_train_items(work_dir, options, split, crop_of, person_of, classes)
        index = {"classes": classes, "recipe_hash": recipe_hash, "options": asdict(options),
                 "splits": {"train": train_items}}
    index["splits"].update(evals)
    index["summary"] = summarize(records, index)
    write_json(work_dir / "dataset.json", index)
    return index


def _recipe_hash(options: PrepareOptions, split: dict, crop_of: dict, work_dir: Path) -> str:
    """What the balanced training set depends on: the augmentation options and the training crops, by name and
    content (a crop re-made under the same name, e.g. after the crop settings changed, makes new augmentations)."""
    recipe = {k: getattr(options, k) for k in ("per_class", "seed", "rotation", "shift", "shear", "zoom",
                                                 "flip", "fill")}
    if options.gray:  # only when set, so that work dirs prepared before the option still match their recipe
        recipe["gray"] = options.gray
    recipe["train"] = sorted((f, crop_of[f], hashlib.sha1((work_dir / crop_of[f]).read_bytes()).hexdigest())
                             for f in split["train"])
    return hashlib.sha1(json.dumps(recipe, sort_keys=True).encode()).hexdigest()


def _reusable_index(work_dir: Path, recipe_hash: str) -> Optional[dict]:
    """The existing dataset.json if it was made from the same recipe and its training images are all there."""
    path = work_dir / "dataset.json"
    if not path.exists():
        return None
    old = read_json(path)
    if old.get("recipe_hash") == recipe_hash and all((work_dir / it["file"]).exists()
                                                     for it in old["splits"]["train"]):
        return old
    return None


def _balanced_train_items(work_dir: Path, options: PrepareOptions, split: dict, crop_of: dict, person_of: dict,
                          classes: list[str]) -> list[dict]:
    """Augment each person's training crops to exactly options.per_class images (in WORK_DIR/train_aug)."""
    aug_dir = work_dir / "train_aug"
    shutil.rmtree(aug_dir, ignore_errors=True)
    train_by_person: dict[str, list[Path]] = {}
    for f in split["train"]:
        train_by_person.setdefault(person_of[f], []).append(work_dir / crop_of[f])
    balanced = balance(train_by_person, options.per_class, aug_dir, options.seed, rotation=options.rotation,
                       shift=options.shift, shear=options.shear, zoom=options.zoom, flip=options.flip,
                       fill=options.fill, gray=options.gray)
    src_photo = {crop_of[f]: f for f in split["train"]}
    train_items = []
    for person, items in balanced.items():
        for it in items:
            src_rel = str(Path(it["source"]).relative_to(work_dir))
            train_items.append({"file": str(Path(it["file"]).relative_to(work_dir)), "label": classes.index(person),
                                "source": src_photo[src_rel], "augmented": it["augmented"]})
    return train_items


def _eval_splits(split: dict, crop_of: dict, person_of: dict, classes: list[str]) -> dict:
    return {name: [{"file": crop_of[f], "label": classes.index(person_of[f]), "source": f, "augmented": False}
                   for f in split[name]] for name in ("val", "test")}


def summarize(records: list[PhotoRecord], index: dict) -> dict:
    """Counts a user wants to see after prepare: photo statuses, per-class split sizes, problem files."""
    status = Counter(r.status for r in records)
    per_class = {c: {s: sum(1 for it in index["splits"][s] if it["label"] == i) for s in ("train", "val", "test")}
                 for i, c in enumerate(index["classes"])}
    return {
        "photos": len(records),
        "status": dict(status),
        "per_class": per_class,
        "unreadable": [{"file": r.file, "error": r.error} for r in records if r.status == "unreadable"],
        "no_face": [r.file for r in records if r.status == "no_face"],
        "suspect": [{"file": r.file, "distance": r.match_distance} for r in records if r.suspect],
        "picked_other_face": [r.file for r in records if r.chosen not in (None, 0)],
    }
