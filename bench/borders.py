"""Faces cut by the photo's edge: accuracy before and after issue 11 (padding of crops, clipped boxes, face quality).

`.venv/bin/python bench/borders.py` writes bench/borders.md; bench/openset.py includes border_section().

From each validation photo (split.json of the model's WORK_DIR; at most PER_PERSON = 8 a person, the first by name)
of sports5 and glint12, four copies are cut so that a
share drawn from U(0.30, 0.45) (seed 0) of the person's face box lies outside the frame: on the left, right, top or
bottom. Each copy is predicted as the product would: detect (MTCNN), crop, embed, match. The detection matching the
person's face (IoU >= 0.3 of the visible parts) is the one scored; a copy where none matches counts as not detected.
Variants differ only in how the crop is made and whether faces too poor to name are left unnamed:
- before: crop padded with smeared edge pixels ("edge", the old crop_face), box not clipped, no quality check;
- constant / reflect: crop padded with grey / mirrored pixels, no quality check;
- after: the shipped padding (config.PAD_MODE) and the face-quality check (faces too poor to name get no name).
The models: dlib_face trained here (celebface prepare + train --backbone dlib_face, cached in
$TMPDIR/celebface-borders) on sports5 and on glint12, and the efficientnet_lite0 demo model (`make demo`,
out/demo) on sports5 when it exists. The same model (trained on crops with the new padding; the demo model on the
old edge padding) serves every variant, so the table isolates what prediction does with a cut face.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Optional

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
DATASETS = ROOT.parent / "shared" / "datasets"
CACHE = Path(tempfile.gettempdir()) / "celebface-borders"
DEMO = Path(os.environ.get("CELEBFACE_DEMO", ROOT / "out" / "demo"))  # made by `make demo`
SIDES = ("left", "right", "top", "bottom")
CUT = (0.30, 0.45)
VARIANTS = ("before", "constant", "reflect", "after")
OUTCOMES = ("correct", "wrong", "unknown", "no name", "missed")
#: Validation photos per person at most (glint12 has ~30 a person; 8 keep the run near 10 minutes on 2 cores).
PER_PERSON = 8


@dataclass
class Cell:
    """Outcome counts of one (model, dataset, side) for each variant, and boxes reaching outside the photo."""

    n: int = 0
    counts: dict = field(default_factory=lambda: {v: dict.fromkeys(OUTCOMES, 0) for v in VARIANTS})
    outside_before: int = 0

    def add(self, variant: str, outcome: str) -> None:
        self.counts[variant][outcome] += 1

    def rate(self, variant: str, outcome: str) -> float:
        return self.counts[variant][outcome] / max(self.n, 1)


def models() -> list[tuple[str, str, Path, Path]]:
    """(label, dataset, MODEL_DIR, WORK_DIR) of each model measured; dlib_face models are made if missing."""
    out = []
    for ds in ("sports5", "glint12"):
        work, model = CACHE / f"{ds}-work", CACHE / f"{ds}-model"
        if not (model / "current").exists():
            run = [sys.executable, "-m", "celebface.cli"]
            subprocess.run(run + ["prepare", str(DATASETS / ds), "--out", str(work), "--per-class", "100"], check=True)
            subprocess.run(run + ["train", str(work), "--out", str(model), "--backbone", "dlib_face"], check=True)
        out.append(("dlib_face", ds, model, work))
    if (DEMO / "model" / "current").exists() and (DEMO / "work" / "split.json").exists():
        out.append(("efficientnet_lite0 (demo)", "sports5", DEMO / "model", DEMO / "work"))
    return out


def cut(img, box: list[float], side: str, share: float):
    """The photo cut on `side` so that `share` of the face box lies outside it; and the offset (dx, dy)."""
    x1, y1, x2, y2 = box
    w, h = x2 - x1, y2 - y1
    left, top, right, bottom = 0.0, 0.0, float(img.width), float(img.height)
    if side == "left":
        left = x1 + share * w
    elif side == "right":
        right = x2 - share * w
    elif side == "top":
        top = y1 + share * h
    else:
        bottom = y2 - share * h
    l, t, r, b = int(round(max(left, 0))), int(round(max(top, 0))), int(round(right)), int(round(bottom))
    return img.crop((l, t, max(r, l + 1), max(b, t + 1))), (l, t)


def iou(a: list[float], b: list[float]) -> float:
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    inter = max(0.0, w) * max(0.0, h)
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def outcome(name: Optional[str], person: str) -> str:
    from celebface.config import UNKNOWN

    return "no name" if name is None else "unknown" if name == UNKNOWN else "correct" if name == person else "wrong"


def score_copy(rec, img, truth: list[float], person: str, cell: Cell) -> None:
    """Predict one cut copy under every variant and count the outcomes."""
    from celebface.faces.align import clip_box, crop_face

    faces = rec.detect(img)
    seen = clip_box(truth, *img.size)
    ious = [iou(clip_box(f.box, *img.size), seen) for f in faces]
    cell.n += 1
    if not faces or max(ious) < 0.3:
        for v in VARIANTS:
            cell.add(v, "missed")
        return
    face = faces[int(np.argmax(ious))]
    x1, y1, x2, y2 = face.box
    cell.outside_before += int(x1 < 0 or y1 < 0 or x2 > img.width or y2 > img.height)
    quality = rec.assess(img, faces)[int(np.argmax(ious))]
    for v in VARIANTS:
        pad = {"before": "edge", "after": None}.get(v, v)
        crop = crop_face(img, face.box, rec.margin, rec.crop_size, **({"pad": pad} if pad else {}))
        name = rec.classify(rec.embed([crop]))[0].name
        cell.add(v, "no name" if v == "after" and not quality.ok else outcome(name, person))


def measure(label: str, ds: str, model_dir: Path, work: Path, seed: int = 0) -> dict[str, Cell]:
    """The cells of one model: per side, every validation photo cut once."""
    from celebface.data.manifest import read_records
    from celebface.io.images import load_image
    from celebface.recognition.recognizer import load

    saved = CACHE / f"cells-{label.split()[0]}-{ds}-{seed}-{PER_PERSON}.json"
    if saved.exists():
        return {s: Cell(**c) for s, c in json.loads(saved.read_text()).items()}
    rec = load(model_dir, device="cpu")
    val = json.loads((work / "split.json").read_text())["val"]
    rng = np.random.default_rng(seed)
    by_person: dict[str, list[str]] = {}
    for f in val:
        by_person.setdefault(f.split("/")[0], []).append(f)
    val = [f for files in by_person.values() for f in sorted(files)[:PER_PERSON]]
    records = read_records(work / "manifest.jsonl")
    cells = {s: Cell() for s in SIDES}
    data_dir = DATASETS / ds
    for k, file in enumerate(val):
        r = records.get(file)
        if r is None or r.chosen_face is None:
            continue
        img = load_image(data_dir / file)
        for side in SIDES:
            copy, (dx, dy) = cut(img, r.chosen_face.box, side, float(rng.uniform(*CUT)))
            b = r.chosen_face.box
            score_copy(rec, copy, [b[0] - dx, b[1] - dy, b[2] - dx, b[3] - dy], r.person, cells[side])
        if k % 10 == 0:
            print(f"{label} {ds}: {k}/{len(val)}", file=sys.stderr, flush=True)
    saved.write_text(json.dumps({s: asdict(c) for s, c in cells.items()}))
    return cells


def table(results: list[tuple[str, str, dict[str, Cell]]]) -> list[str]:
    lines = ["| model | data | cut side | n | detected | correct before (edge) | constant | reflect | after | "
             "wrong before | wrong after | no name after | boxes outside photo before |",
             "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for label, ds, cells in results:
        for side in (*SIDES, "all"):
            c = cells[side] if side != "all" else _total(cells)
            det = 1 - c.rate("before", "missed")
            lines.append(f"| {label} | {ds} | {side} | {c.n} | {det:.1%} | "
                         + " | ".join(f"{c.rate(v, 'correct'):.1%}" for v in VARIANTS)
                         + f" | {c.rate('before', 'wrong'):.1%} | {c.rate('after', 'wrong'):.1%} | "
                         f"{c.rate('after', 'no name'):.1%} | {c.outside_before} |")
    return lines


def _total(cells: dict[str, Cell]) -> Cell:
    t = Cell()
    for c in cells.values():
        t.n += c.n
        t.outside_before += c.outside_before
        for v in VARIANTS:
            for o in OUTCOMES:
                t.counts[v][o] += c.counts[v][o]
    return t


def border_section(results: Optional[list] = None) -> str:
    """The "Border faces" section (markdown) for bench/openset.md; measures when not given results."""
    from celebface.config import PAD_MODE

    results = results if results is not None else [(lab, ds, measure(lab, ds, m, w)) for lab, ds, m, w in models()]
    lines = ["## Border faces", "",
             f"Validation photos (at most {PER_PERSON} a person) cut so that 30-45% of the person's face box lies "
             "outside the frame (seed 0, one cut per photo and side; `.venv/bin/python bench/borders.py`). Accuracy = the person's face detected and "
             "given the right name, over all cut copies (n). before: old crops (edge pixels smeared into the part "
             "outside the photo), unclipped boxes; constant / reflect: grey or mirrored padding; after: the shipped "
             f"padding ({PAD_MODE}) with the face-quality check (a face too poor to name gets no name: not wrong, "
             "not correct). Boxes are clipped to the photo in every output after the change (the last column "
             "counts the detections that reached outside the photo, which before were reported as they were).", ""]
    return "\n".join(lines + table(results)) + "\n"


def main() -> None:
    text = "# Faces cut by the photo's edge\n\n" + border_section()
    (ROOT / "bench" / "borders.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
