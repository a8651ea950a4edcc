"""Step 4 of `prepare`: bring every person's training photos to exactly N images with seeded augmentation.

Rotation, shift, shear, zoom, horizontal flip and a fill mode, as in the design (albumentations), and optionally
a share of grayscale copies (`prepare --gray`, not in the design). Validation
and test photos are never augmented; people with more than N training photos are sampled down.
"""
from __future__ import annotations

import os
import random
from pathlib import Path
from typing import Literal

import numpy as np
from PIL import Image

from ..config import FILL_MODES  # noqa: F401  (the fill modes make_augmenter takes)

os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")  # albumentations must not look for updates online

FillMode = Literal["nearest", "reflect", "constant"]


def make_augmenter(rotation: float = 20.0, shift: float = 0.1, shear: float = 10.0, zoom: float = 0.1,
                   flip: bool = True, fill: FillMode = "nearest", seed: int = 0, gray: float = 0.0):
    """An albumentations pipeline: random affine (rotation, shift, shear, zoom), horizontal flip, then grayscale.

    :param gray: probability that a copy is made grayscale (kept as 3 equal channels); 0 adds no step.
    """
    import albumentations as A
    import cv2

    border = {"nearest": cv2.BORDER_REPLICATE, "reflect": cv2.BORDER_REFLECT_101,
              "constant": cv2.BORDER_CONSTANT}[fill]
    steps = [A.Affine(rotate=(-rotation, rotation), translate_percent=(-shift, shift), shear=(-shear, shear),
                      scale=(1.0 - zoom, 1.0 + zoom), border_mode=border, fill=0, p=1.0)]
    if flip:
        steps.append(A.HorizontalFlip(p=0.5))
    if gray:
        steps.append(A.ToGray(p=gray))
    return A.Compose(steps, seed=seed)


def balance(train: dict[str, list[Path]], n: int, out_dir: Path, seed: int = 0, **aug) -> dict[str, list[dict]]:
    """For each person, N training images: originals (sampled down if more than N) plus augmented copies.

    Augmented copies are written to out_dir/<person>/; returns per person a list of
    {"file": path, "source": original path, "augmented": bool}.
    """
    out: dict[str, list[dict]] = {}
    for person in sorted(train):
        rng = random.Random(f"{seed}-{person}")
        originals = sorted(train[person])
        if len(originals) >= n:
            chosen = sorted(rng.sample(originals, n))
            out[person] = [{"file": p, "source": p, "augmented": False} for p in chosen]
            continue
        items = [{"file": p, "source": p, "augmented": False} for p in originals]
        augmenter = make_augmenter(seed=rng.randrange(2**31), **aug)
        order = originals * ((n - len(originals)) // len(originals) + 1)
        sources = rng.sample(order, n - len(originals))
        person_dir = Path(out_dir) / person
        person_dir.mkdir(parents=True, exist_ok=True)
        for k, src in enumerate(sources):
            img = np.asarray(Image.open(src).convert("RGB"))
            aug_img = Image.fromarray(augmenter(image=img)["image"])
            dst = person_dir / f"aug{k:04d}_{Path(src).stem}.jpg"
            aug_img.save(dst, quality=92)
            items.append({"file": dst, "source": src, "augmented": True})
        out[person] = items
    return out
