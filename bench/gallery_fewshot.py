"""Few-shot naming for bench/gallery.py: enrol 1, 3 or 5 photos per person into an empty gallery, name the rest.

Each photo's main face is detected and embedded once with the production detector and dlib embedder; the
embeddings (flip-averaged, as enrolment makes them) are cached in the temp dir (celebface-bench-<dataset>-flip.npz)
for reruns. Scores: accuracy (a face named
"unknown" counts as wrong) and macro-F1 over the people, with the threshold the gallery calibrates for itself, and
the closed-set accuracy (best person, no threshold) beside them. Three seeds of enrolment photos each.
"""
from __future__ import annotations

import tempfile
import time
from pathlib import Path

import numpy as np

DATASETS = Path(__file__).resolve().parents[2] / "shared" / "datasets"
PER_PERSON_CAP = {"celeb5": 1000, "glint12": 40}  # glint12: 40 of ~150 per person keep the run short on 2 cores
SHOTS = (1, 3, 5)
SEEDS = (0, 1, 2)


def embed_dataset(name: str) -> tuple[list[str], np.ndarray, np.ndarray, float]:
    """(people, labels, (N,128) embeddings, seconds per photo) of each photo's main face; cached."""
    cache = Path(tempfile.gettempdir()) / f"celebface-bench-{name}-flip.npz"
    if cache.is_file():
        z = np.load(cache, allow_pickle=False)
        return list(z["people"]), z["labels"], z["embs"], float(z["per_photo"])
    from celebface.config import CROP_SIZE, MARGIN
    from celebface.faces.align import crop_face
    from celebface.faces.detect import FaceDetector, order_faces
    from celebface.faces.identity import identity_embedder
    from celebface.io.images import is_image_name, load_image

    detector, embedder = FaceDetector(device="cpu"), identity_embedder("dlib", MARGIN, flip=True)
    people = sorted(p.name for p in (DATASETS / name).iterdir() if p.is_dir())
    labels, embs, t = [], [], time.perf_counter()
    n_photos = 0
    for k, person in enumerate(people):
        files = sorted(f for f in (DATASETS / name / person).iterdir() if is_image_name(f))[: PER_PERSON_CAP[name]]
        for f in files:
            n_photos += 1
            img = load_image(f)
            faces = order_faces(detector.detect(img), img.size)
            if faces:
                embs.append(embedder.embed([crop_face(img, faces[0].box, MARGIN, CROP_SIZE)])[0])
                labels.append(k)
    per_photo = (time.perf_counter() - t) / max(n_photos, 1)
    out = (people, np.array(labels), np.array(embs, np.float32), per_photo)
    np.savez(cache, people=np.array(people), labels=out[1], embs=out[2], per_photo=per_photo)
    return out


def one_run(tmp: Path, people: list[str], labels: np.ndarray, embs: np.ndarray, shots: int, seed: int) -> dict:
    """Enrol `shots` faces per person, name the others; returns the scores."""
    from sklearn.metrics import f1_score

    from celebface.gallery.matcher import GalleryMatcher
    from celebface.gallery.records import NewFace
    from celebface.gallery.sqlite import SQLiteStore

    rng = np.random.default_rng(seed)
    store = SQLiteStore(tmp / f"fewshot_{len(people)}_{shots}_{seed}.db", "dlib_face", 128)
    test = np.ones(len(labels), bool)
    for k, person in enumerate(people):
        mine = np.flatnonzero(labels == k)
        pick = rng.choice(mine, min(shots, len(mine) - 1), replace=False)
        test[pick] = False
        store.add(person, [NewFace(embs[i]) for i in pick])
    matcher = GalleryMatcher(store)
    matches = matcher.match(embs[test])
    truth = [people[k] for k in labels[test]]
    pred = [m.name for m in matches]
    closed = [m.top[0][0] if m.top else "unknown" for m in matches]
    store.close()
    return {"acc": float(np.mean([p == t for p, t in zip(pred, truth)])),
            "f1": float(f1_score(truth, pred, labels=people, average="macro", zero_division=0)),
            "closed": float(np.mean([p == t for p, t in zip(closed, truth)])), "n": int(test.sum()),
            "threshold": matcher.threshold, "trusted": bool(matcher.calibration and matcher.calibration.trusted)}


def pair_lines(name: str, labels: np.ndarray, embs: np.ndarray) -> list[str]:
    """Share of same-person and different-person photo pairs at or above each cosine threshold."""
    sims = embs @ embs.T
    iu = np.triu_indices(len(labels), 1)
    same = (labels[:, None] == labels[None, :])[iu]
    s = sims[iu]
    out = []
    for t in (0.82, 0.85, 0.88, 0.89, 0.90, 0.91, 0.92):
        out.append(f"| {name} | {t:.2f} | {(s[same] >= t).mean():.3f} | {(s[~same] >= t).mean():.4f} |")
    return out


def fewshot_section(tmp: Path) -> tuple[list[str], np.ndarray]:
    """Markdown lines for the few-shot table, and the real embeddings (for the scale test)."""
    from celebface.gallery.calibrate import DEFAULT_THRESHOLD

    lines = ["## Few-shot naming (enrol from an empty gallery, name the other photos)", "",
             "Mean of 3 seeds. Accuracy and macro-F1 count 'unknown' as wrong (threshold: the gallery's own "
             f"leave-one-out calibration, or the default {DEFAULT_THRESHOLD:.2f} cosine when it has too few faces to "
             "trust); closed-set: "
             "the best person, no threshold.", "",
             "| dataset | photos/person | test faces | accuracy | macro-F1 | closed-set acc | threshold (trusted) |",
             "|---|---:|---:|---:|---:|---:|---|"]
    real, embed_times, datasets = [], [], []
    for name in ("celeb5", "glint12"):
        people, labels, embs, per_photo = embed_dataset(name)
        datasets.append((people, labels, embs, per_photo))
        real.append(embs)
        embed_times.append(f"{name}: {per_photo:.3f} s/photo ({len(labels)} faces)")
        for shots in SHOTS:
            runs = [one_run(tmp, people, labels, embs, shots, s) for s in SEEDS]
            mean = {k: float(np.mean([r[k] for r in runs])) for k in ("acc", "f1", "closed", "threshold")}
            trusted = sum(r["trusted"] for r in runs)
            line = (f"| {name} | {shots} | {runs[0]['n']} | {mean['acc']:.3f} | {mean['f1']:.3f} | "
                    f"{mean['closed']:.3f} | {mean['threshold']:.3f} ({trusted}/3) |")
            print(line, flush=True)
            lines.append(line)
    lines += ["", "Detect + embed the main face, cold cache, one process: " + "; ".join(embed_times) + ".", "",
              "### Photo pairs (`compare`, and the default threshold)", "",
              "| dataset | cosine threshold | same person accepted | different people accepted |",
              "|---|---:|---:|---:|"]
    for name, (people, labels, embs, _) in zip(("celeb5", "glint12"), datasets):
        lines += pair_lines(name, labels, embs)
    lines.append("")
    return lines, np.concatenate(real)
