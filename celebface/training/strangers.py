"""Faces of people who are not in the training set, for calibrating "unknown" on real strangers.

Two sources a user has: the other faces in the training photos (in a photo of Federer with a crowd, the crowd are
mostly strangers; a second detection of the person's own face, overlapping it, is left out), and a folder of photos
of people who are not to be recognised (`celebface train --strangers DIR`), every face of which is a stranger.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Optional, Sequence

import numpy as np

from ..recognition.tracking import iou

MAX_STRANGER_PHOTOS = 2000  # a --strangers folder larger than this is sampled (evenly, sorted by path)
OVERLAP = 0.3  # a face overlapping the person's own face by more than this (IoU) is the same face found twice


@dataclass
class Strangers:
    """Identity vectors (flip-averaged) of strangers' faces, and how many came from each source."""

    embeddings: np.ndarray
    people: np.ndarray  # the person whose training photo each face came from ("" for --strangers faces)
    named: np.ndarray  # the person the model's head names each face (-1: a model that names by the gallery)
    sources: dict[str, int] = field(default_factory=dict)


#: A trained head's names (class indices) for face crops.
#: Names face crops (the head's person index for each), given the crops and their flip-averaged identity vectors.
Namer = Callable[[Sequence, np.ndarray], np.ndarray]


def bystander_crops(work_dir: Path) -> list[tuple[str, str]]:
    """(crop relative to WORK_DIR, the photo's person) of the faces in the training photos that are not the
    person's own face."""
    from ..data.manifest import read_records

    work_dir = Path(work_dir)
    out = []
    for rec in read_records(work_dir / "manifest.jsonl").values():
        own = rec.chosen_face
        if own is None:
            continue  # no face was taken as the person's: any of them may be the person
        for face in rec.faces:
            if face is not own and face.crop and iou(face.box, own.box) <= OVERLAP and (work_dir / face.crop).exists():
                out.append((face.crop, rec.person))
    return out


def folder_embeddings(folder: Path, margin: float, settings: dict, progress: bool = False,
                      name: Optional[Namer] = None, identity: str = "dlib") -> tuple[np.ndarray, np.ndarray]:
    """Every face in the photos under `folder`: flip-averaged identity vectors, and the head's names (or -1).

    :param identity: the identity embedder (faces/identity.py)
    :param settings: the WORK_DIR's preprocessing options (detect_size, min_prob, size)
    :param name: the trained head's namer (CNN backbones)
    """
    from ..runtime import progress_bar

    from ..errors import DataError, ImageError
    from ..faces.align import crop_face
    from ..faces.detect import FaceDetector
    from ..faces.identity import get_identity, identity_embedder
    from ..io.images import load_image
    from ..io.sources import expand_paths

    folder = Path(folder)
    if not folder.is_dir():
        raise DataError(f"--strangers {folder} is not a folder: give a folder of photos of people the model "
                        f"must not name")
    photos = expand_paths([folder])
    if len(photos) > MAX_STRANGER_PHOTOS:
        photos = [photos[i] for i in np.linspace(0, len(photos) - 1, MAX_STRANGER_PHOTOS).astype(int)]
    detector = FaceDetector(detect_size=int(settings.get("detect_size", 800)),
                            min_prob=float(settings.get("min_prob", 0.9)))
    embedder, size, out, names = identity_embedder(identity, margin), int(settings.get("size", 224)), [], []
    for path in progress_bar(photos, desc="strangers", unit="photo", disable=not progress):
        try:
            img = load_image(path)
        except ImageError:
            continue
        align = bool(settings.get("align", False))  # cut as the training crops were
        crops = [crop_face(img, f.box, margin, size, landmarks=f.landmarks if align else None)
                 for f in detector.detect(img)]
        if crops:
            out.append(embedder.embed(crops))
            names.append(name(crops, out[-1]) if name else np.full(len(crops), -1))
    if not out:
        return np.zeros((0, get_identity(identity).dim), np.float32), np.zeros(0, np.int64)
    return np.concatenate(out), np.concatenate(names).astype(np.int64)


def collect_strangers(work_dir: Path, strangers_dir: Optional[Path], margin: float, settings: dict,
                      progress: bool = False, name: Optional[Namer] = None, identity: str = "dlib") -> Strangers:
    """The strangers' faces a training run can use: bystanders in WORK_DIR's photos, plus `strangers_dir`'s.

    :param identity: the identity embedder of their vectors (faces/identity.py)
    :param name: the trained head's namer, for models that name with a head (the gate then checks that name)
    """
    from ..data.embedding_cache import cached_embeddings

    crops = bystander_crops(work_dir)
    parts = [cached_embeddings(work_dir, [c for c, _ in crops], progress, desc="bystander faces", flip=True,
                               identity=identity)]
    named = [_name_files(Path(work_dir), [c for c, _ in crops], parts[0], name)]
    people = [p for _, p in crops]
    sources = {"other faces in the training photos": len(crops)}
    if strangers_dir is not None:
        emb, names = folder_embeddings(strangers_dir, margin, settings, progress, name, identity)
        parts.append(emb)
        named.append(names)
        sources[f"--strangers {strangers_dir}"] = len(emb)
        people += [""] * len(emb)
    return Strangers(np.concatenate(parts).astype(np.float32), np.array(people, dtype=object),
                     np.concatenate(named).astype(np.int64), sources)


def _name_files(work_dir: Path, crops: list[str], embeddings: np.ndarray, name: Optional[Namer]) -> np.ndarray:
    if name is None or not crops:
        return np.full(len(crops), -1, np.int64)
    from PIL import Image

    return np.concatenate([name([Image.open(work_dir / c).convert("RGB") for c in crops[i:i + 64]],
                                embeddings[i:i + 64]) for i in range(0, len(crops), 64)])
