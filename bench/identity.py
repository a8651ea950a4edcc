"""Issue 31's figures: each identity embedder (dlib, faceres, sface and their fusions) on the three sample sets, and
the goals with the default identity. Writes bench/identity.md.

    python bench/identity.py --fit     # fit celebface/faces/identity_stats.json on all three sets, then measure
    python bench/identity.py           # measure with statistics fitted without the faces measured

Both act on every registered identity unless --identities names some; --fit rewrites the whole statistics file, so
it refuses to leave out an identity that is registered (its vectors could no longer be made).

Faces: each photo's main face (MTCNN, the square 224-px crop with a 20% margin that prediction cuts); labelled
figures use one-face photos only (a photo with several faces has no sure label), strangers are the one-face photos of
the other two sets. Vectors are flip-averaged, as recognition makes them. Nothing measured is fitted on the faces it
measures: every set's figures use statistics (centres, fusion weights, impostor statistics) fitted on the other two
sets; the shipped file (--fit) is fitted on all three. Detections and raw vectors are cached in the temp dir.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
DATASETS = ROOT.parent / "shared" / "datasets"
SETS = ("sports5", "celeb5", "glint12")
CACHE = Path(tempfile.gettempdir()) / "celebface-bench-identity"
SEEDS = (0, 1, 2)

from identity_metrics import (few_shot, open_set, small_gallery, verification)  # noqa: E402


@dataclass
class FaceSet:
    """Each photo's main face: its person, photo, and whether it was the photo's only face."""

    name: str
    people: list[str]
    labels: np.ndarray
    photos: list[str]
    boxes: list[list[float]]
    single: np.ndarray
    landmarks: list  # each main face's 5 points in the photo, carried into its crop as recognition carries them


def detect_set(name: str) -> FaceSet:
    """The set's main faces (cached: detection is the slow part)."""
    cache = CACHE / f"{name}-faces.json"
    if cache.is_file():
        d = json.loads(cache.read_text())
        if "landmarks" in d:  # caches written before the landmarks were kept are detected again
            return FaceSet(name, d["people"], np.array(d["labels"]), d["photos"], d["boxes"], np.array(d["single"]),
                           d["landmarks"])
    from celebface.errors import ImageError
    from celebface.faces.detect import FaceDetector, order_faces
    from celebface.io.images import is_image_name, load_image

    detector = FaceDetector(device="cpu")
    people = sorted(p.name for p in (DATASETS / name).iterdir() if p.is_dir())
    labels, photos, boxes, single, points = [], [], [], [], []
    for k, person in enumerate(people):
        for f in sorted(f for f in (DATASETS / name / person).iterdir() if is_image_name(f)):
            try:
                img = load_image(f)
            except ImageError:
                continue
            faces = order_faces(detector.detect(img), img.size)
            if faces:
                labels.append(k), photos.append(str(f)), boxes.append(list(faces[0].box))
                single.append(len(faces) == 1), points.append(faces[0].landmarks)
    CACHE.mkdir(parents=True, exist_ok=True)
    cache.write_text(json.dumps({"people": people, "labels": labels, "photos": photos, "boxes": boxes,
                                 "single": single, "landmarks": points}))
    return detect_set(name)


def raw_vectors(fs: FaceSet, network: str) -> np.ndarray:
    """A single network's raw flip-averaged vectors of the set's main faces (cached, apart for each precision)."""
    from celebface.runtime import identity_precision

    precision = identity_precision()
    cache = CACHE / f"{fs.name}-{network}{'' if precision == 'fp32' else '-' + precision}.npy"
    if cache.is_file():
        return np.load(cache)
    from celebface.config import CROP_SIZE, MARGIN
    from celebface.faces.align import crop_face
    from celebface.faces.identity import raw_embedder
    from celebface.io.images import load_image

    embedder, out = raw_embedder(network, MARGIN, flip=True), []
    for i in range(0, len(fs.photos), 32):
        crops = [crop_face(load_image(p), b, MARGIN, CROP_SIZE, points=pts) for p, b, pts in
                 zip(fs.photos[i:i + 32], fs.boxes[i:i + 32], fs.landmarks[i:i + 32])]
        out.append(embedder.embed(crops))
    vecs = np.concatenate(out).astype(np.float32)
    np.save(cache, vecs)
    return vecs


def networks(identities: list[str]) -> list[str]:
    from celebface.faces.identity import get_identity

    return sorted({p for i in identities for p in (get_identity(i).parts or (i,))})


def fit(sets: list[FaceSet], identities: list[str]) -> dict:
    """identity_stats.json's content fitted on the main faces of `sets` (all their photos)."""
    from celebface.faces.identity import get_identity
    from celebface.faces.identity_stats import fit_stats

    nets = networks(identities)
    raw = {n: np.concatenate([raw_vectors(fs, n) for fs in sets]) for n in nets}
    offset, people = 0, []
    for fs in sets:
        people.append(fs.labels + offset)
        offset += len(fs.people)
    centred = [n for n in nets if get_identity(n).extra.get("centred")]
    fusions = {i: get_identity(i).parts for i in identities if get_identity(i).parts}
    faces = sum(len(fs.labels) for fs in sets)
    return {"data": f"main faces of every photo of {', '.join(fs.name for fs in sets)} ({faces} faces of {offset} "
                    f"people)", "command": f"python bench/identity.py --fit --identities {' '.join(identities)}",
            "made": time.strftime("%Y-%m-%d"),
            "identities": fit_stats(raw, np.concatenate(people), centred, fusions)}


def identity_vectors(fs: FaceSet, name: str, stats_file: Path) -> np.ndarray:
    """Identity `name`'s vectors of the set's faces, made with the statistics of `stats_file` (as the library makes
    them: faces/identity_fusion.py)."""
    from celebface.faces.identity import get_identity
    from celebface.faces.identity_fusion import centred_unit, fuse
    from celebface.faces.identity_stats import load_stats

    stats, spec = load_stats(stats_file), get_identity(name)

    def single(n: str) -> np.ndarray:
        center = stats[n].center if n in stats else None
        return centred_unit(raw_vectors(fs, n), center)

    if not spec.parts:
        return single(name)
    return fuse([single(p) for p in spec.parts], [stats[name].weights[p] for p in spec.parts])


def write_stats(content: dict, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(content, indent=1) + "\n")
    return path


def leave_out_stats(sets: dict[str, FaceSet], identities: list[str], measured: tuple[str, ...]) -> Path:
    """A statistics file fitted on the sets other than `measured` (the temp dir)."""
    rest = [sets[s] for s in SETS if s not in measured]
    return write_stats(fit(rest, identities), CACHE / f"stats-without-{'-'.join(measured)}.json")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--identities", nargs="+", help="registry names (default: every registered identity)")
    ap.add_argument("--fit", action="store_true", help="fit celebface/faces/identity_stats.json on all three sets")
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "identity.md")
    args = ap.parse_args()
    from celebface.faces.identity import identity_names

    args.identities = args.identities or identity_names()
    left_out = [n for n in identity_names() if n not in args.identities]
    if args.fit and left_out:
        ap.error(f"--fit rewrites every identity's statistics: add {' '.join(left_out)} to --identities")
    sets = {s: detect_set(s) for s in SETS}
    if args.fit:
        from celebface.faces.identity_stats import STATS_FILE

        print("wrote", write_stats(fit([sets[s] for s in SETS], args.identities), STATS_FILE))
    from identity_report import report

    report(args, sets, {"leave_out": leave_out_stats, "vectors": identity_vectors, "verification": verification,
                        "open_set": open_set, "few_shot": few_shot, "small_gallery": small_gallery})


if __name__ == "__main__":
    os.environ.setdefault("CELEBFACE_OFFLINE", "1")
    main()
