"""`python bench/mtcnn_equal.py`: celebface's batched MTCNN (faces/mtcnn_fast.py) against facenet-pytorch's MTCNN
on every sample photo: the same number of faces, and how far apart boxes, landmarks and probabilities are.

Each photo is shrunk as the detector shrinks it (800 px); the second look's 160 px crops of the faces found are
compared too (one batch a photo, as the quality gate runs them). Writes bench/mtcnn_equal.md.
"""
from __future__ import annotations

import argparse
import datetime as dt
import time
from pathlib import Path
from typing import Optional, Sequence

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def compare(ours, boxes, probs, points) -> Optional[tuple[float, float, float]]:
    """Largest box, landmark and probability differences (None when the face counts differ)."""
    if boxes is None:
        return (0.0, 0.0, 0.0) if len(ours) == 0 else None
    if len(ours) != len(boxes):
        return None
    order = np.argsort(-np.asarray(probs, dtype=np.float64), kind="stable")
    b = np.abs(ours.boxes - np.asarray(boxes, dtype=np.float32)[order]).max()
    p = np.abs(ours.points - np.asarray(points, dtype=np.float32)[order]).max()
    q = np.abs(ours.probs - np.asarray(probs, dtype=np.float32)[order]).max()
    return float(b), float(p), float(q)


def check(paths: Sequence[Path]) -> dict:
    from facenet_pytorch import MTCNN

    from celebface.errors import ImageError
    from celebface.faces.align import crop_face
    from celebface.faces.detect import RECHECK_SIZE, FaceDetector
    from celebface.io.images import load_image

    det, plain = FaceDetector(), MTCNN(keep_all=True, select_largest=False)
    plain_look = MTCNN(keep_all=True, select_largest=False, min_face_size=det.recheck_min_face())  # the second look
    out = {"photos": 0, "faces": 0, "crops": 0, "differ": [], "box": 0.0, "points": 0.0, "prob": 0.0,
           "ours_s": 0.0, "theirs_s": 0.0}
    for path in paths:
        try:
            img = load_image(path)
        except ImageError:
            continue
        small, _ = det.shrink(img)
        t0 = time.perf_counter()
        found = det.mtcnn.detect(small)[0]
        t1 = time.perf_counter()
        theirs = plain.detect(small, landmarks=True)
        out["ours_s"] += t1 - t0
        out["theirs_s"] += time.perf_counter() - t1
        pairs = [(found, theirs)]
        faces = det.detect(img)
        if faces:
            crops = [crop_face(img, f.box, margin=0.5, size=RECHECK_SIZE, pad="constant") for f in faces]
            b, p, pts = plain_look.detect(crops, landmarks=True)
            again = det.mtcnn.detect(crops, min_face_size=det.recheck_min_face())
            pairs += [(o, (b[k], p[k], pts[k])) for k, o in enumerate(again)]
            out["crops"] += len(crops)
        out["photos"] += 1
        out["faces"] += len(found)
        for o, t in pairs:
            d = compare(o, *t)
            if d is None:
                out["differ"].append(str(path))
                continue
            out["box"], out["points"], out["prob"] = (max(out["box"], d[0]), max(out["points"], d[1]),
                                                      max(out["prob"], d[2]))
    return out


def main(argv: Optional[Sequence[str]] = None) -> None:
    ap = argparse.ArgumentParser(prog="python bench/mtcnn_equal.py", description=__doc__.splitlines()[0])
    ap.add_argument("--datasets", type=Path, default=ROOT.parent / "shared" / "datasets")
    ap.add_argument("--sets", nargs="+", default=["sports5", "celeb5", "extras", "glint12"])
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "mtcnn_equal.md")
    args = ap.parse_args(argv)
    from celebface.io.images import is_image_name

    lines = ["# Batched MTCNN against facenet-pytorch's MTCNN, every sample photo", "",
             f"{dt.datetime.now(dt.timezone.utc):%Y-%m-%d %H:%M UTC}; `python bench/mtcnn_equal.py "
             f"--sets {' '.join(args.sets)}`", "",
             "| set | photos | faces | second-look crops | photos that differ | largest box diff px | "
             "largest landmark diff px | largest prob diff | ours s | facenet-pytorch s |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for name in args.sets:
        paths = sorted(p for p in (args.datasets / name).rglob("*") if p.is_file() and is_image_name(p))
        r = check(paths)
        lines.append(f"| {name} | {r['photos']} | {r['faces']} | {r['crops']} | {len(r['differ'])} | "
                     f"{r['box']:.4f} | {r['points']:.4f} | {r['prob']:.2e} | {r['ours_s']:.1f} | "
                     f"{r['theirs_s']:.1f} |")
        print(lines[-1], *r["differ"], sep="\n", flush=True)
    lines += ["", "Times are detection alone (one thread pool as torch sets it; the machine was shared)."]
    args.out.write_text("\n".join(lines) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
