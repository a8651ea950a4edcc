"""Issue 11, a probe: does the fine-tuned CNN's own evidence, added to the dlib face-verification score, separate
known faces from strangers better than the dlib score alone (the gate of CNN models today)?

    .venv/bin/python bench/openset_combined.py MODEL_DIR WORK_DIR SPLIT_JSON STRANGER_WORK_DIR [...]

For a CNN model (efficientnet_lite0) trained on WORK_DIR: the validation faces of SPLIT_JSON (known people) and every
face crop in each STRANGER_WORK_DIR/faces (strangers). Each face gets the person the head names and three scores for
that person: the dlib similarity to their nearest training face (today's gate), the cosine similarity of the CNN's
pooled features to their nearest training face, and the head's log-probability. A logistic regression on the three
is fitted on half the strangers (and half the known faces) and scored on the other halves, both ways round
(2-fold); printed: strangers named at the threshold where known faces lose at most 1 point against the closed set,
and known faces kept where at most 3% / 5% of strangers are named. Then the dlib similarity normalised by the face's
similarity to the second-best person or to a cohort (the bystanders of the training photos). An analysis, not a
test.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def crops_of(work: Path, files: list[str]):
    from PIL import Image

    return [Image.open(work / f).convert("RGB") for f in files]


def scores(rec, work: Path, files: list[str], gallery_cnn: np.ndarray, labels: np.ndarray) -> dict:
    """The head's person and the three scores of each face (files relative to `work`)."""
    from celebface.data.embedding_cache import cached_embeddings
    from celebface.recognition.openset import best_per_person

    cnn, logp = [], []
    for i in range(0, len(files), 64):
        f = rec.embedder.embed(crops_of(work, files[i:i + 64]))
        cnn.append(f)
        logp.append(rec.matcher.log_probabilities(f))
    cnn, logp = np.concatenate(cnn), np.concatenate(logp)
    pred = logp.argmax(1)
    n = logp.shape[1]
    dl = cached_embeddings(work, files, False, flip=True)
    per = best_per_person(dl, rec.bundle.gallery, rec.bundle.gallery_labels, n)
    d_sim = per[np.arange(len(files)), pred]
    per[np.arange(len(files)), pred] = -np.inf
    second = per.max(1) if n > 1 else np.zeros(len(files))
    unit = cnn / np.linalg.norm(cnn, axis=1, keepdims=True)
    c_sim = best_per_person(unit, gallery_cnn, labels, n)[np.arange(len(files)), pred]
    return {"pred": pred, "dlib": d_sim, "cnn": c_sim, "logp": logp.max(1), "second": second, "emb": dl}


def normalised(k: dict, s: dict, k_ok: np.ndarray, closed: float, cohort: np.ndarray) -> None:
    """Score normalisation of the dlib similarity, printed like the scores above: minus a share of the similarity to
    the second-best person, or minus a share of the mean similarity to the K most similar cohort faces (the
    bystanders of the training photos, which a user has), or z-normalised by those K."""
    for lam in (0.25, 0.5, 1.0):
        print(f"dlib - {lam} x second person", operating_points(
            k_ok, k["dlib"] - lam * k["second"], s["dlib"] - lam * s["second"], closed))
    near_k, near_s = (np.sort(x["emb"] @ cohort.T, axis=1) for x in (k, s))
    for top in (1, 5, 20):
        mk, ms = near_k[:, -top:].mean(1), near_s[:, -top:].mean(1)
        for lam in (0.5, 1.0):
            print(f"dlib - {lam} x cohort top{top}", operating_points(k_ok, k["dlib"] - lam * mk,
                                                                      s["dlib"] - lam * ms, closed))
        if top > 1:
            zk = (k["dlib"] - mk) / (near_k[:, -top:].std(1) + 1e-3)
            zs = (s["dlib"] - ms) / (near_s[:, -top:].std(1) + 1e-3)
            print(f"dlib z-normalised on cohort top{top}", operating_points(k_ok, zk, zs, closed))


def operating_points(known_ok: np.ndarray, known_s: np.ndarray, stranger_s: np.ndarray, closed: float) -> dict:
    """Strangers named at <= 1 point known drop; known kept at <= 3% and 5% strangers named."""
    out = {}
    ts = np.unique(np.concatenate([known_s, stranger_s]))
    kept = np.array([(known_ok & (known_s >= t)).mean() for t in ts])
    named = np.array([(stranger_s >= t).mean() for t in ts])
    ok = kept >= closed - 0.01
    out["strangers_at_1pt"] = float(named[ok].min()) if ok.any() else 1.0
    for cap in (0.03, 0.05):
        fine = named <= cap
        out[f"known_at_{int(cap * 100)}pct"] = float(kept[fine].max()) if fine.any() else 0.0
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("model", type=Path)
    ap.add_argument("work", type=Path)
    ap.add_argument("split", type=Path)
    ap.add_argument("strangers", type=Path, nargs="+")
    args = ap.parse_args()
    import celebface
    from sklearn.linear_model import LogisticRegression

    rec = celebface.load(args.model)
    ds = json.loads(args.split.read_text())
    classes = ds["classes"]
    train = [it for it in ds["splits"]["train"] if not it["augmented"]]
    gal = np.concatenate([rec.embedder.embed(crops_of(args.work, [it["file"] for it in train[i:i + 64]]))
                          for i in range(0, len(train), 64)])
    gal /= np.linalg.norm(gal, axis=1, keepdims=True)
    labels = np.array([it["label"] for it in train])
    val = ds["splits"]["val"]
    k = scores(rec, args.work, [it["file"] for it in val], gal, labels)
    truth = np.array([it["label"] for it in val])
    k_ok = k["pred"] == truth
    s_parts = []
    for w in args.strangers:
        files = sorted(str(p.relative_to(w)) for p in (w / "faces").rglob("*.jpg"))
        s_parts.append(scores(rec, w, files, gal, labels))
    s = {key: np.concatenate([p[key] for p in s_parts]) for key in ("dlib", "cnn", "logp", "second", "emb")}
    closed = float(k_ok.mean())
    print(f"classes {classes}; known val faces {len(val)} (closed set {closed:.3f}); strangers {len(s['dlib'])}")
    for key in ("dlib", "cnn", "logp"):
        print(key, operating_points(k_ok, k[key], s[key], closed))
    # 2-fold logistic regression on (dlib, cnn, logp): fitted on one half of each, scored on the other
    xk = np.stack([k["dlib"], k["cnn"], k["logp"]], 1)
    xs = np.stack([s["dlib"], s["cnn"], s["logp"]], 1)
    rng = np.random.default_rng(0)
    fk, fs = rng.integers(0, 2, len(xk)), rng.integers(0, 2, len(xs))
    comb_k, comb_s = np.zeros(len(xk)), np.zeros(len(xs))
    for fold in (0, 1):
        fit_k, fit_s = (fk != fold) & k_ok, fs != fold
        lr = LogisticRegression(class_weight="balanced", C=10.0).fit(
            np.concatenate([xk[fit_k], xs[fit_s]]), np.r_[np.ones(fit_k.sum()), np.zeros(fit_s.sum())])
        comb_k[fk == fold] = lr.decision_function(xk[fk == fold])
        comb_s[fs == fold] = lr.decision_function(xs[fs == fold])
        print("fold", fold, "weights", np.round(lr.coef_[0], 2), "bias", round(float(lr.intercept_[0]), 2))
    print("combined (2-fold)", operating_points(k_ok, comb_k, comb_s, closed))
    from celebface.data.embedding_cache import cached_embeddings
    from celebface.training.strangers import bystander_crops

    cohort = cached_embeddings(args.work, [c for c, _ in bystander_crops(args.work)], False, flip=True)
    print(f"cohort: {len(cohort)} bystanders' faces of the training photos")
    normalised(k, s, k_ok, closed, cohort)


if __name__ == "__main__":
    main()
