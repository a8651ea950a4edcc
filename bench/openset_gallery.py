"""Issue 11, a probe: can the face-verification gate of CNN models keep more known faces at the same share of
strangers named, by what its gallery holds or how each person's score is read?

    .venv/bin/python bench/openset_gallery.py MODEL_DIR WORK_DIR STRANGER_WORK_DIR [...]

For a CNN model trained on WORK_DIR (its validation split in WORK_DIR/dataset.json): the validation faces (known
people) and every face crop in each STRANGER_WORK_DIR/faces (strangers). The head names each face; the gate scores
the face against that person's gallery. Variants of the score, each printed with the strangers named where known
faces lose at most 1 point against the closed set, and the known faces kept where at most 3% / 5% of strangers are
named (bench/openset_combined.py's operating points):

- today's gate: the dlib similarity to the person's nearest original training face;
- the gallery with the augmented training copies too (rotations, shifts, zooms, flips: more poses to match);
- the mean of the person's 2 or 3 nearest training faces instead of the nearest;
- a per-person offset: minus a low quantile of the person's own leave-one-out similarities (training faces to their
  nearest other training face of the same person), so that people whose photos vary a lot (helmets, profiles) are
  held to a lower bar than people whose photos all look alike.

An analysis, not a test; nothing is written but the work dirs' embedding caches.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))


def head_names(rec, work: Path, files: list[str]) -> np.ndarray:
    """The person the model's head names for each crop (files relative to `work`)."""
    from openset_combined import crops_of

    out = []
    for i in range(0, len(files), 64):
        out.append(rec.matcher.log_probabilities(rec.embedder.embed(crops_of(work, files[i:i + 64]))).argmax(1))
    return np.concatenate(out) if out else np.zeros(0, np.int64)


def person_sims(emb: np.ndarray, gallery: np.ndarray, labels: np.ndarray, pred: np.ndarray, top: int) -> np.ndarray:
    """Mean similarity of each face to the `top` nearest gallery faces of the person it is named."""
    sims = emb @ gallery.T
    out = np.empty(len(emb), np.float32)
    for i, p in enumerate(pred):
        own = np.sort(sims[i, labels == p])[::-1]
        out[i] = own[:top].mean() if len(own) else -1.0
    return out


def own_spread(gallery: np.ndarray, labels: np.ndarray, n: int) -> list[np.ndarray]:
    """Each person's leave-one-out similarities: every training face to its nearest other face of the person."""
    sims = gallery @ gallery.T
    np.fill_diagonal(sims, -np.inf)
    return [sims[np.ix_(labels == p, labels == p)].max(1) for p in range(n)]


def wccn(show, g, gl, ga, gal, k_emb, k_pred, s_emb, s_pred) -> None:
    """Within-class covariance normalisation: the embeddings whitened against how each training person's own faces
    vary (pose, light), estimated on the training faces (originals, or with the augmented copies), shrunk towards
    the identity by `a`; then the nearest-face similarity as today."""
    sources = {"originals": (g, gl)}
    if len(ga):  # without augmented copies (a --split run) the second source would repeat the first
        sources["with augmented"] = (np.concatenate([g, ga]), np.concatenate([gl, gal]))
    for src, (x, y) in sources.items():
        centred = np.concatenate([x[y == p] - x[y == p].mean(0) for p in np.unique(y)])
        sw = centred.T @ centred / len(centred)
        sw /= np.trace(sw) / sw.shape[0]
        for a in (0.9, 0.7, 0.5, 0.3):
            vals, vecs = np.linalg.eigh((1 - a) * sw + a * np.eye(sw.shape[0]))
            w = vecs @ np.diag(vals ** -0.5) @ vecs.T
            unit = lambda m: (m @ w) / np.linalg.norm(m @ w, axis=1, keepdims=True)  # noqa: E731
            gw = unit(g)
            show(f"WCCN on {src}, shrink {a}", person_sims(unit(k_emb), gw, gl, k_pred, 1),
                 person_sims(unit(s_emb), gw, gl, s_pred, 1))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("model", type=Path)
    ap.add_argument("work", type=Path)
    ap.add_argument("strangers", type=Path, nargs="+")
    ap.add_argument("--split", type=Path, help="a split JSON to use instead of WORK_DIR/dataset.json (e.g. one that "
                    "bench/accuracy.py saved; its augmented copies are then not used)")
    args = ap.parse_args()
    import celebface
    from celebface.data.embedding_cache import cached_embeddings
    from openset_combined import operating_points

    rec = celebface.load(args.model)
    ds = json.loads((args.split or args.work / "dataset.json").read_text())
    n = len(ds["classes"])
    train = ds["splits"]["train"]
    orig = [it for it in train if not it["augmented"]]
    # a saved split's augmented copies may have been overwritten by a later prepare of the same folder: left out
    aug = [] if args.split else [it for it in train if it["augmented"]]
    emb = lambda work, items: cached_embeddings(work, [it["file"] for it in items], False, flip=True)  # noqa: E731
    g, gl = emb(args.work, orig), np.array([it["label"] for it in orig])
    ga, gal = emb(args.work, aug), np.array([it["label"] for it in aug], np.int64)
    val = ds["splits"]["val"]
    k_emb, truth = emb(args.work, val), np.array([it["label"] for it in val])
    k_pred = head_names(rec, args.work, [it["file"] for it in val])
    s_emb, s_pred = [], []
    for w in args.strangers:
        files = sorted(str(p.relative_to(w)) for p in (w / "faces").rglob("*.jpg"))
        s_emb.append(cached_embeddings(w, files, False, flip=True))
        s_pred.append(head_names(rec, w, files))
    s_emb, s_pred = np.concatenate(s_emb), np.concatenate(s_pred)
    k_ok = k_pred == truth
    closed = float(k_ok.mean())
    print(f"{args.model.name}: {n} people, gallery {len(g)} originals + {len(ga)} augmented copies; known val faces "
          f"{len(val)} (closed set {closed:.3f}); strangers {len(s_emb)}")

    def show(name: str, ks: np.ndarray, ss: np.ndarray) -> None:
        print(f"{name:48s}", {k: round(v, 4) for k, v in operating_points(k_ok, ks, ss, closed).items()})

    base_k, base_s = person_sims(k_emb, g, gl, k_pred, 1), person_sims(s_emb, g, gl, s_pred, 1)
    show("originals, mean of nearest 1", base_k, base_s)
    for top in (2, 3):
        show(f"originals, mean of nearest {top}", person_sims(k_emb, g, gl, k_pred, top),
             person_sims(s_emb, g, gl, s_pred, top))
    both, bl = np.concatenate([g, ga]), np.concatenate([gl, gal])
    show("originals + augmented, nearest", person_sims(k_emb, both, bl, k_pred, 1),
         person_sims(s_emb, both, bl, s_pred, 1))
    spread = own_spread(g, gl, n)
    for q in (0.05, 0.1, 0.25, 0.5):
        off = np.array([np.quantile(s, q) if len(s) else 0.0 for s in spread])
        show(f"nearest minus own {q:.2f} quantile", base_k - off[k_pred], base_s - off[s_pred])
        show(f"nearest minus half own {q:.2f} quantile", base_k - 0.5 * off[k_pred], base_s - 0.5 * off[s_pred])
    wccn(show, g, gl, ga, gal, k_emb, k_pred, s_emb, s_pred)
    print("own leave-one-out 0.1 quantile by person:",
          {c: round(float(np.quantile(s, 0.1)), 3) for c, s in zip(ds["classes"], spread) if len(s)})


if __name__ == "__main__":
    main()
