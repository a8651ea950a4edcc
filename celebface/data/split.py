"""Step 3 of `prepare`: a seeded, stratified train/val(/test) split by source photo, made before augmentation.

Near-duplicate photos (a resized or cropped copy of one picture) can be passed as groups: a group always lands
on one side, so no copy of a validation photo is trained on.
"""
from __future__ import annotations

import random
from collections import defaultdict
from typing import Optional, Sequence

from ..errors import DataError


def split_photos(items: list[tuple[str, str]], val_share: float = 0.2, test_share: float = 0.0,
                 seed: int = 0, groups: Optional[Sequence[Sequence[str]]] = None) -> dict[str, list[str]]:
    """Split (photo, person) pairs per person into train/val/test photo lists.

    Every person gets at least one validation photo (and one test photo when test_share > 0) and keeps
    at least one for training; a person with too few photos is a DataError that says what to do.

    :param items: (photo, person) pairs.
    :param val_share: share of each person's photos for validation.
    :param test_share: share for test (0: no test split).
    :param seed: the shuffle's seed.
    :param groups: near-duplicate groups of photos; each group lands on one side (with no groups the split is
        the plain per-photo one).
    """
    if not 0.0 < val_share < 1.0 or not 0.0 <= test_share < 1.0 or val_share + test_share >= 1.0:
        raise DataError(f"val share {val_share} and test share {test_share} must be in (0, 1) and sum below 1")
    by_person: dict[str, list[str]] = defaultdict(list)
    for photo, person in items:
        by_person[person].append(photo)
    unit_of = {p: min(g) for g in groups or () for p in g}
    need = 2 + (test_share > 0)
    small = {p: len({unit_of.get(f, f) for f in v}) for p, v in by_person.items()}
    small = {p: n for p, n in small.items() if n < need}
    if small:
        listed = ", ".join(f"{p} ({n})" for p, n in sorted(small.items()))
        raise DataError(f"too few usable face photos to split for: {listed}. Each person needs at least {need} "
                        f"distinct photos with a detectable face (near-duplicates of one picture count once); "
                        f"add photos to those folders or remove them.")
    if len(by_person) < 2:
        raise DataError("only one person found: a recogniser needs photos of at least two people.")
    rng = random.Random(seed)
    out: dict[str, list[str]] = {"train": [], "val": [], "test": []}
    side_of: dict[str, str] = {}  # unit (group) -> side, shared by every person the group holds
    for person in sorted(by_person):
        photos = sorted(by_person[person])
        rng.shuffle(photos)
        n = len(photos)
        n_val = max(1, round(n * val_share))
        n_test = max(1, round(n * test_share)) if test_share > 0 else 0
        n_val = min(n_val, n - n_test - 1)
        _place_units(photos, unit_of, side_of, n_val, n_test, out)
    in_val = set(out["val"])
    missing = sorted(p for p, v in by_person.items() if not in_val.intersection(v))
    if missing:
        raise DataError(f"no validation photo is left for {', '.join(missing)}: their photos are near-duplicates of "
                        f"other people's photos. Run `celebface check` and remove the copies or the wrong photos.")
    return out


def _place_units(photos: list[str], unit_of: dict[str, str], side_of: dict[str, str], n_val: int, n_test: int,
                 out: dict[str, list[str]]) -> None:
    """Fill val, then test, then train with one person's shuffled photos, a near-duplicate group at a time."""
    units: dict[str, list[str]] = {}
    for p in photos:
        units.setdefault(unit_of.get(p, p), []).append(p)
    count = {"train": 0, "val": 0, "test": 0}
    for u, members in units.items():
        if u in side_of:
            count[side_of[u]] += len(members)
    for u, members in units.items():
        if u not in side_of:
            fits = count["val"] + count["test"] + len(members) < len(photos)  # keep one photo for training
            side = "val" if count["val"] < n_val and fits else "test" if count["test"] < n_test and fits else "train"
            side_of[u] = side
            count[side] += len(members)
        out[side_of[u]] += members
