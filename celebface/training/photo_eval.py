"""Validation that no face embedding chose: whole photos through `predict`, as a user runs it.

`prepare` picks the face of each multi-face photo by dlib similarity to the person's other photos and leaves out
"suspect" photos (and photos without a face) before the split, so crop-level validation figures are chosen and
filtered by the very embedding that dlib_face and fusion name faces with. Here:

- (b) photo level: every validation photo of the split, plus the photos prepare left out of the split (suspects,
  no face found), each drawn into validation with the split's validation share by a hash of the seed and its file,
  is run through `Recognizer.predict_image` (detection, naming, the "unknown" gate: what a user gets). A photo is
  right when its labelled person is among the names given to its faces and no other known person is named for
  its labelled face: the face prepare chose, or the main face when prepare chose none (matched to the predicted
  faces by box overlap).
- (c) single-face photos: the same photos and rule, only those where prepare found exactly one face.
"""
from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Sequence

from ..config import UNKNOWN

#: Why a photo was missed, by what predict made of its labelled face (missed_as).
MISS_CAUSES = ("unknown", "another person", "no name", "not found")
#: A predicted face is the labelled face when their boxes overlap at least this much (intersection over union).
SAME_FACE_IOU = 0.3


@dataclass(frozen=True)
class PhotoCase:
    """One validation photo and who is in it."""

    file: str  # relative to DATA_DIR
    person: str
    box: Optional[list[float]]  # the labelled face (prepare's chosen or main face); None when prepare found none
    faces: int  # faces prepare found
    suspect: bool
    in_split: bool  # False: prepare left it out of the split and it was drawn into validation here


@dataclass(frozen=True)
class PhotoOutcome:
    """What `predict` said of one photo: right or not, and the name given to its labelled face."""

    case: PhotoCase
    right: bool
    named: str  # the labelled face's name ("" when predict found no face there, or gave it no name)
    found: bool = True  # predict found a face on the labelled one


def _drawn(file: str, seed: int, share: float) -> bool:
    """A photo outside the split goes to validation with probability `share`, fixed by the seed and its name."""
    digest = hashlib.sha1(f"{seed}:{file}".encode()).hexdigest()
    return int(digest[:12], 16) / float(16 ** 12) < share


def validation_photos(work_dir: Path) -> tuple[Optional[Path], list[PhotoCase]]:
    """DATA_DIR and the photos to score at photo level, from WORK_DIR's manifest.json and split.json.

    :param work_dir: a folder made by `celebface prepare`
    :returns: (DATA_DIR, cases); (None, []) when the work dir has no manifest or split (made before they existed)
    """
    manifest_file, split_file = Path(work_dir) / "manifest.json", Path(work_dir) / "split.json"
    if not manifest_file.is_file() or not split_file.is_file():
        return None, []
    manifest, split = json.loads(manifest_file.read_text()), json.loads(split_file.read_text())
    val = set(split.get("val", []))
    in_split = val | set(split.get("train", [])) | set(split.get("test", []))
    seed, share = int(split.get("seed", 0)), float(split.get("val_share", 0.2))
    cases = []
    for r in manifest["photos"]:
        if r.get("status") == "unreadable":
            continue
        if r["file"] in val or (r["file"] not in in_split and _drawn(r["file"], seed, share)):
            faces = r.get("faces") or []
            chosen = r.get("chosen") if r.get("chosen") is not None else 0
            box = faces[chosen]["box"] if faces else None
            cases.append(PhotoCase(r["file"], r["person"], box, int(r.get("n_faces") or len(faces)),
                                   bool(r.get("suspect")), r["file"] in in_split))
    return Path(manifest["data_dir"]), cases


def _iou(a: Sequence[float], b: Sequence[float]) -> float:
    w = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    h = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - w * h
    return w * h / union if union > 0 else 0.0


def judge(case: PhotoCase, faces: list) -> PhotoOutcome:
    """Right when `case.person` is among the faces' names and the labelled face is not named as someone else.

    :param case: the photo and its labelled person and face
    :param faces: predict's FaceResults for the photo (their `box` and `name`)
    """
    names = [f.name for f in faces]
    overlaps = [_iou(case.box, f.box) for f in faces] if case.box is not None else []
    named, found = "", bool(overlaps) and max(overlaps) >= SAME_FACE_IOU
    if found:
        named = names[overlaps.index(max(overlaps))] or ""
    other_person = named not in ("", UNKNOWN, case.person)
    return PhotoOutcome(case, case.person in names and not other_person, named, found)


def photo_level(rec, work_dir: Path, progress: bool = False) -> dict:
    """Figures (b) and (c) of a loaded model (`celebface.load`) on WORK_DIR's validation photos.

    :param rec: a Recognizer, as `celebface.load(model)` returns it
    :param work_dir: the WORK_DIR the model was trained on
    :param progress: show a progress bar
    :returns: {"photo_level": {...}, "single_face": {...}}, or {} when the photos cannot be found
    """
    from tqdm import tqdm

    data_dir, cases = validation_photos(Path(work_dir))
    if data_dir is None or not cases or not (data_dir / cases[0].file).is_file():
        return {}
    outcomes, t0 = [], time.perf_counter()
    for case in tqdm(cases, desc="predict validation photos", disable=not progress, unit="photo"):
        outcomes.append(judge(case, rec.predict_image(data_dir / case.file).faces))
    seconds = time.perf_counter() - t0
    return {"photo_level": _figures(outcomes, rec.classes, seconds),
            "single_face": _figures([o for o in outcomes if o.case.faces == 1], rec.classes, None)}


def missed_as(outcomes: list[PhotoOutcome]) -> dict[str, int]:
    """Why the wrong photos among `outcomes` were wrong, by what predict made of the labelled face: called "unknown"
    (the gate), named as another person (the classifier), found but given no name (too small or blurred to name), or
    not found (no detected face overlaps it, or prepare found no face to label)."""
    out = dict.fromkeys(MISS_CAUSES, 0)
    for o in (o for o in outcomes if not o.right):
        key = ("not found" if not o.found else "unknown" if o.named == UNKNOWN else "no name" if not o.named
               else "another person")
        out[key] += 1
    return out


def _figures(outcomes: list[PhotoOutcome], classes: list[str], seconds: Optional[float]) -> dict:
    """Accuracy and macro-F1 (each photo's answer: its person when right, else the labelled face's name or
    "missed"), with the counts a reader needs to weigh them."""
    from sklearn.metrics import f1_score

    if not outcomes:
        return {"accuracy": None, "macro_f1": None, "n": 0}
    truth = [o.case.person for o in outcomes]
    answer = [o.case.person if o.right else (o.named if o.named in classes else "missed") for o in outcomes]
    out = {"accuracy": sum(o.right for o in outcomes) / len(outcomes),
           "macro_f1": float(f1_score(truth, answer, labels=classes, average="macro", zero_division=0)),
           "n": len(outcomes), "suspects": sum(o.case.suspect for o in outcomes),
           "outside_split": sum(not o.case.in_split for o in outcomes),
           "wrong": [o.case.file for o in outcomes if not o.right],
           "missed_as": missed_as(outcomes)}
    if seconds is not None:
        out["predict_seconds_per_photo"] = round(seconds / len(outcomes), 4)
    return out
