"""Every MTCNN detection in the sample photos, for bench/quality.py (the face-quality thresholds).

Runs the production detector (detect side 800) at a low probability floor (0.80, below the 0.90 the models use, to
see the margin) over sports5, celeb5, glint12 and extras/, and writes one JSON line per photo to
$TMPDIR/celebface-quality/detections.jsonl (resumable: photos already there are skipped).
"""
from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

DATASETS = Path(__file__).resolve().parents[2] / "shared" / "datasets"
OUT = Path(tempfile.gettempdir()) / "celebface-quality"
FLOOR = 0.80
SETS = ("sports5", "celeb5", "glint12", "extras/no_face", "extras/group_photos", "extras/sports5_new_photos")


def photos() -> list[tuple[str, Path]]:
    """(dataset, photo) for every photo of the sample sets."""
    from celebface.io.images import is_image_name

    out = []
    for name in SETS:
        out += [(name, p) for p in sorted((DATASETS / name).rglob("*")) if p.is_file() and is_image_name(p)]
    return out


def main() -> None:
    from celebface.errors import ImageError
    from celebface.faces.detect import FaceDetector, order_faces
    from celebface.io.images import load_image

    OUT.mkdir(exist_ok=True)
    path = OUT / "detections.jsonl"
    done = set()
    if path.exists():
        done = {json.loads(line)["file"] for line in path.read_text().splitlines() if line.strip()}
    detector = FaceDetector(min_prob=FLOOR)
    todo = [(d, p) for d, p in photos() if str(p) not in done]
    with open(path, "a") as f:
        for k, (name, p) in enumerate(todo):
            try:
                img = load_image(p)
            except ImageError:
                continue
            faces = order_faces(detector.detect(img), img.size)
            f.write(json.dumps({"set": name, "file": str(p), "width": img.width, "height": img.height,
                                "faces": [x.to_dict() for x in faces]}) + "\n")
            if k % 100 == 0:
                f.flush()
                print(f"{k}/{len(todo)}", file=sys.stderr, flush=True)


if __name__ == "__main__":
    main()
