"""Naming clusters of unnamed faces (celebface cluster --model) with a trained recogniser."""
from __future__ import annotations

from pathlib import Path
from typing import Callable, Optional, Sequence

from PIL import Image

from ..data.cluster import majority_name

#: A cluster is named from at most this many of its faces.
NAME_SAMPLE = 15


def name_cluster(recognizer, crops: Sequence[Path]) -> tuple[Optional[str], Optional[float]]:
    """The known person most of a cluster's faces are named as, and that share (None when mostly unknown).

    :param recognizer: a loaded celebface Recognizer.
    :param crops: the cluster's face crops (the model's own crop geometry).
    """
    step = max(1, len(crops) // NAME_SAMPLE)
    images = [Image.open(p).convert("RGB") for p in list(crops)[::step][:NAME_SAMPLE]]
    return majority_name([m.name for m in recognizer.name_crops(images)])


def cluster_namer(recognizer) -> Callable[[list[Path]], tuple[Optional[str], Optional[float]]]:
    """A namer for celebface.data.cluster.cluster_photos that uses `recognizer`.

    :param recognizer: a loaded celebface Recognizer.
    """
    return lambda crops: name_cluster(recognizer, crops)
