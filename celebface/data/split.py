"""Step 3 of `prepare`: a seeded, stratified train/val(/test) split by source photo, made before augmentation."""
from __future__ import annotations

import random
from collections import defaultdict

from ..errors import DataError


def split_photos(items: list[tuple[str, str]], val_share: float = 0.2, test_share: float = 0.0,
                 seed: int = 0) -> dict[str, list[str]]:
    """Split (photo, person) pairs per person into train/val/test photo lists.

    Every person gets at least one validation photo (and one test photo when test_share > 0) and keeps
    at least one for training; a person with too few photos is a DataError that says what to do.
    """
    if not 0.0 < val_share < 1.0 or not 0.0 <= test_share < 1.0 or val_share + test_share >= 1.0:
        raise DataError(f"val share {val_share} and test share {test_share} must be in (0, 1) and sum below 1")
    by_person: dict[str, list[str]] = defaultdict(list)
    for photo, person in items:
        by_person[person].append(photo)
    need = 2 + (test_share > 0)
    small = {p: len(v) for p, v in by_person.items() if len(v) < need}
    if small:
        listed = ", ".join(f"{p} ({n})" for p, n in sorted(small.items()))
        raise DataError(f"too few usable face photos to split for: {listed}. Each person needs at least {need} "
                        f"photos with a detectable face; add photos to those folders or remove them.")
    if len(by_person) < 2:
        raise DataError("only one person found: a recogniser needs photos of at least two people.")
    rng = random.Random(seed)
    out: dict[str, list[str]] = {"train": [], "val": [], "test": []}
    for person in sorted(by_person):
        photos = sorted(by_person[person])
        rng.shuffle(photos)
        n = len(photos)
        n_val = max(1, round(n * val_share))
        n_test = max(1, round(n * test_share)) if test_share > 0 else 0
        n_val = min(n_val, n - n_test - 1)
        out["val"] += photos[:n_val]
        out["test"] += photos[n_val:n_val + n_test]
        out["train"] += photos[n_val + n_test:]
    return out
