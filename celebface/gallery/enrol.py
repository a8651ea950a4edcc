"""Enrolment into the gallery: photos -> one face each -> embeddings -> one store change. No training.

A photo with no face, or with several faces and no hint which one is the person, is reported and nothing is
written for it. The hint: when the person is already in the gallery, the face most like their stored faces is
taken if it reaches the threshold; `main_face=True` takes the main (largest, most central) face instead.
"""
from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional, Sequence

import numpy as np

from ..errors import EnrollError, ImageError
from ..io.fileio import not_a_file
from ..io.images import ImageSource, load_image
from .calibrate import DEFAULT_THRESHOLD
from .names import validate_name
from .records import Change, NewFace


@dataclass
class Skipped:
    photo: str
    reason: str


@dataclass
class EnrolReport:
    """What an enrolment did (the fields of the service's EnrolResult), and its history row."""
    name: str
    updated: bool  # the person was in the gallery already
    photos: int
    faces: int  # faces added
    skipped: list[str] = field(default_factory=list)  # "photo: reason"
    seconds: float = 0.0
    date: str = ""
    replaced: bool = False
    change: Optional[Change] = None
    note: str = ""

    def to_dict(self) -> dict:
        out = {k: getattr(self, k) for k in ("name", "updated", "photos", "faces", "skipped", "seconds", "date",
                                             "replaced", "note")}
        return {**out, "change": self.change.to_dict() if self.change else None}


def _label_and_hash(src: ImageSource, i: int) -> tuple[str, str]:
    if isinstance(src, (str, Path)):
        path = Path(src)
        if not_a_file(path):
            return path.name, ""  # load_image says why; reading a FIFO would block
        try:
            return path.name, hashlib.sha256(path.read_bytes()).hexdigest()
        except OSError:
            return path.name, ""
    if isinstance(src, (bytes, bytearray)):
        return f"photo {i + 1}", hashlib.sha256(src).hexdigest()
    return f"photo {i + 1}", ""


def _pick(faces: list, embs: np.ndarray, known: Optional[np.ndarray], threshold: float,
          main_face: bool) -> tuple[Optional[int], str]:
    if not faces:
        return None, "no face found"
    if len(faces) == 1 or main_face:
        return 0, ""
    if known is not None and len(known):
        sims = (embs @ known.T).max(1)
        best = int(np.argmax(sims))
        if sims[best] >= threshold:
            return best, ""
    return None, (f"{len(faces)} faces and no hint which one: use a photo with one face, crop it, or pass "
                  f"--main-face to take the largest, most central one")


def photo_faces(rec: Any, photos: Sequence[ImageSource], known: Optional[np.ndarray] = None,
                threshold: float = DEFAULT_THRESHOLD, main_face: bool = False) -> tuple[list[NewFace], list[Skipped]]:
    """One NewFace per usable photo (decoded one at a time) and the photos left out.

    :param rec: a Recognizer (its detector and rec.face_embeddings)
    :param known: the person's stored embeddings, to choose among several faces
    """
    out, skipped = [], []
    for i, src in enumerate(photos):
        label, digest = _label_and_hash(src, i)
        try:
            img = load_image(src)
        except ImageError as exc:
            skipped.append(Skipped(label, str(exc)))
            continue
        faces, embs = rec.face_embeddings(img)
        k, why = _pick(faces, embs, known, threshold, main_face)
        if k is None:
            skipped.append(Skipped(label, why))
            continue
        f = faces[k]  # one face per photo; its embedding averages the face and its mirror image already
        out.append(NewFace(np.asarray(embs[k], np.float32), file=label, sha256=digest,
                           box=[round(float(v), 1) for v in f.box], prob=round(float(f.prob), 4)))
    return out, skipped


def enrol(rec: Any, store: Any, name: str, photos: Sequence[ImageSource], replace: bool = False,
          main_face: bool = False, who: Optional[str] = None, threshold: float = DEFAULT_THRESHOLD) -> EnrolReport:
    """Add `name`'s faces from `photos` to the gallery in one change (nothing is written if no photo is usable).

    :param rec: a loaded Recognizer
    :param store: the gallery Store
    :param replace: remove the person's earlier faces in the same change
    :param main_face: in photos with several faces, take the main one
    """
    t0 = time.time()
    name = validate_name(name)
    if not photos:
        raise EnrollError(f"no photos given for {name}")
    known = _known_faces(store, name)
    faces, skipped = photo_faces(rec, photos, known, threshold, main_face)
    reasons = [f"{s.photo}: {s.reason}" for s in skipped]
    if not faces:
        raise EnrollError(f"no usable face in the {len(photos)} photo(s) given for {name}, nothing was written: "
                          + "; ".join(reasons))
    change = store.add(name, faces, who=who, replace=replace)
    return EnrolReport(name, known is not None, len(photos), len(faces), reasons, round(time.time() - t0, 3),
                       time.strftime("%Y-%m-%dT%H:%M:%S"), replace and known is not None, change)


def _known_faces(store: Any, name: str) -> Optional[np.ndarray]:
    people = {p.name: p.id for p in store.people()}
    if name not in people:
        return None
    return store.person_faces(people[name])
