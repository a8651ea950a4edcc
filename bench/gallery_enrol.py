"""Enrolment time for bench/gallery.py: seconds per photo with the model warm, in an empty gallery and in one of
10,000 faces (constant: no retraining, one insert per enrolment)."""
from __future__ import annotations

import time
from pathlib import Path

import numpy as np

CELEB5 = Path(__file__).resolve().parents[2] / "shared" / "datasets" / "celeb5"


def enrol_section(tmp: Path) -> list[str]:
    from celebface.recognition.init_model import init_model
    from celebface.gallery.records import NewFace
    from celebface.recognition.recognizer import load

    model = tmp / "enrol_model"
    init_model(model)
    rec = load(model, "cpu")
    people = sorted(p for p in CELEB5.iterdir() if p.is_dir())
    rec.enroll("warm_up", [sorted(people[0].iterdir())[0]])  # loads detector and dlib weights
    rec.forget("warm_up")
    lines = ["## Enrolment (model warm, one photo per call, CLI/API path: decode, detect, embed, insert)", "",
             "| gallery faces before | photos | mean s/photo | max s/photo |", "|---:|---:|---:|---:|"]
    for size in (0, 10_000):
        if size:
            rng = np.random.default_rng(0)
            vecs = rng.normal(size=(size, 128)).astype(np.float32)
            rec.gallery.import_training("bench-fill", [f"p{i}" for i in range(size // 10)],
                                        [NewFace(v) for v in vecs], np.arange(size) // 10)
        times = []
        for person in people:
            for photo in sorted(person.iterdir())[1:3]:
                t = time.perf_counter()
                rec.enroll(f"{person.name}_{size}", [photo], main_face=True)
                times.append(time.perf_counter() - t)
        line = f"| {size:,} | {len(times)} | {np.mean(times):.3f} | {np.max(times):.3f} |"
        print(line, flush=True)
        lines.append(line)
    return lines + [""]
