"""The faces of glint12, sports5 and celeb5 for bench/people.py: every photo's faces (MTCNN, main face first) and
their vectors of one identity (dlib, dlib+faceres, ...), computed once per identity and cached in the temp dir
(detection is the slow part).

Run: OMP_WAIT_POLICY=PASSIVE OMP_NUM_THREADS=1 python bench/people_faces.py [IDENTITY]
"""
from __future__ import annotations

import hashlib
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DATASETS = ROOT.parent / "shared" / "datasets"
SETS = ("glint12", "sports5", "celeb5")
CACHE_DIR = Path(tempfile.gettempdir()) / "celebface-bench-people"


@dataclass
class BenchFaces:
    """One row per detected face: its set, the folder's person (true only for the main face: face 0), photo hash,
    photo path, face index in the photo, and its unit vector of the identity it was computed with."""
    dataset: np.ndarray
    person: np.ndarray
    sha256: np.ndarray
    path: np.ndarray
    face: np.ndarray
    vecs: np.ndarray


def _photos() -> list[tuple[str, str, Path]]:
    from celebface.io.images import is_image_name

    out = []
    for ds in SETS:
        for person in sorted(p for p in (DATASETS / ds).iterdir() if p.is_dir()):
            out += [(ds, person.name, f) for f in sorted(person.iterdir()) if f.is_file() and is_image_name(f)]
    return out


def compute(identity: str = "dlib") -> BenchFaces:
    """Detect and embed every photo's faces with `identity` (slow: minutes on 2 cores)."""
    import torch

    from celebface.faces.align import crop_face
    from celebface.faces.detect import FaceDetector, order_faces
    from celebface.faces.identity import identity_embedder
    from celebface.io.images import load_image

    torch.set_num_threads(1)
    det, emb = FaceDetector(), identity_embedder(identity)
    rows: list[tuple] = []
    vecs: list[np.ndarray] = []
    photos = _photos()
    for n, (ds, person, f) in enumerate(photos):
        try:
            img = load_image(str(f))
        except Exception as exc:  # an unreadable photo is left out, as `index` does
            print(f"skip {f}: {exc}", file=sys.stderr)
            continue
        faces = order_faces(det.detect(img), img.size)
        if not faces:
            continue
        crops = [crop_face(img, face.box) for face in faces]
        vecs.append(np.asarray(emb.embed(crops), np.float32))
        sha = hashlib.sha256(f.read_bytes()).hexdigest()
        rows += [(ds, person, sha, str(f.relative_to(DATASETS)), k) for k in range(len(faces))]
        if n % 100 == 0:
            print(f"{n}/{len(photos)} photos, {len(rows)} faces", flush=True)
    cols = list(zip(*rows))
    return BenchFaces(np.array(cols[0]), np.array(cols[1]), np.array(cols[2]), np.array(cols[3]),
                      np.array(cols[4], np.int64), np.concatenate(vecs))


def cache_path(identity: str) -> Path:
    """Where the faces of `identity` are cached."""
    return CACHE_DIR / ("faces.npz" if identity == "dlib" else f"faces-{identity.replace('+', '_')}.npz")


def load(identity: str = "dlib") -> BenchFaces:
    """The cached faces of `identity` (computed and cached on first use)."""
    cache = cache_path(identity)
    if not cache.is_file():
        faces = compute(identity)
        cache.parent.mkdir(parents=True, exist_ok=True)
        tmp = cache.with_suffix(".tmp.npz")
        np.savez(tmp, **faces.__dict__)
        tmp.replace(cache)
    with np.load(cache) as z:
        return BenchFaces(**{k: z[k] for k in BenchFaces.__dataclass_fields__})


if __name__ == "__main__":
    f = load(sys.argv[1] if len(sys.argv) > 1 else "dlib")
    print(f"{len(f.vecs)} faces in {len(set(f.sha256))} photos")
