"""`load_data`: WORK_DIR's dataset.json as tensors of labels and row indices into one list of image files."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch

from ..errors import DataError
from ..io.fileio import read_json

SPLITS = ("train", "val", "test")


@dataclass
class TrainData:
    """The prepared dataset: every image file once, and per split the rows of its images and their labels."""

    work_dir: Path
    classes: list[str]
    splits: dict[str, list[dict]]
    files: list[str]
    rows: dict[str, torch.Tensor]
    labels: dict[str, torch.Tensor]
    options: dict


def load_dataset(work_dir: Path) -> dict:
    path = Path(work_dir) / "dataset.json"
    if not path.is_file():
        raise DataError(f"{work_dir} is not a prepared folder (no dataset.json); run "
                        f"`celebface prepare DATA_DIR --out {work_dir}` first")
    return read_json(path)


def load_data(work_dir: Path, originals_only: bool = False) -> TrainData:
    """Read WORK_DIR/dataset.json; a missing or empty split is a DataError that says what to do.

    :param originals_only: leave out the augmented training copies (models that name faces by their gallery
        store each training photo's face once, flip-averaged, instead of 400 augmented copies per person)
    """
    ds = load_dataset(work_dir)
    splits = dict(ds["splits"])
    if originals_only:
        splits["train"] = [it for it in splits["train"] if not it.get("augmented")]
    if not splits["train"] or not splits["val"]:
        raise DataError(f"{work_dir}/dataset.json has an empty train or val split; run prepare again")
    files = sorted({it["file"] for s in SPLITS for it in splits.get(s, [])})
    pos = {f: i for i, f in enumerate(files)}
    rows = {s: torch.tensor([pos[it["file"]] for it in splits.get(s, [])], dtype=torch.long) for s in SPLITS}
    labels = {s: torch.tensor([it["label"] for it in splits.get(s, [])], dtype=torch.long) for s in SPLITS}
    return TrainData(Path(work_dir), ds["classes"], splits, files, rows, labels, ds.get("options", {}))
