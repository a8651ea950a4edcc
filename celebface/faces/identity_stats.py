"""What each identity embedder's vectors look like, measured once on many identities: the impostor statistics
(cosines of pairs of different people's faces) that set a gallery's threshold when it is too small to calibrate
itself, the centre a network's vectors are moved by before use, and a fusion's weights.

They are written by `python bench/identity.py --fit` into identity_stats.json beside this file, which records on
which data, how many people, faces and pairs, and the command. Nothing here is fitted on the faces a gallery names.

A stranger is named by a gallery when their best similarity to any of its G faces reaches the threshold, so the
threshold that names at most a share r of strangers rises as the gallery grows. It is measured, not assumed: galleries
of G faces of G different people are drawn at random from the fitting faces, and for each G and r the statistics
keep the threshold passed by a share r of the other people's faces (`galleries`). A stranger's similarities to the
gallery's faces are not independent (someone who looks like one famous person looks like several), so this passes
fewer strangers than the independent-pairs formula, p = 1 - (1 - r)^(1/G) per pair, which is used only beyond the
largest gallery drawn.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Optional, Sequence

import numpy as np

STATS_FILE = Path(__file__).with_name("identity_stats.json")
#: An environment variable naming another statistics file (e.g. one fitted on your own people, or the benchmark's
#: fitted without the faces it measures).
STATS_ENV = "CELEBFACE_IDENTITY_STATS"
#: The share of strangers' faces a gallery too small to calibrate may name (per face, over all its people).
STRANGER_RATE = 0.02
#: The per-pair false-accept rate of `compare`'s default threshold (one pair of photos).
PAIR_FAR = 0.01
#: The cosine used where an identity has no measured statistics, and dlib's pair threshold. Not dlib's customary 0.6
#: Euclidean (0.82 cosine): on celebface's flip-averaged MTCNN crops that passes too many pairs of different people.
FALLBACK_THRESHOLD = 0.91


@dataclass(frozen=True)
class ImpostorStats:
    """Cosines of different people's face pairs: `threshold[i]` is passed by a share `far[i]` of the pairs."""

    far: tuple[float, ...]
    threshold: tuple[float, ...]
    mean: float
    std: float
    pairs: int
    people: int
    faces: int


@dataclass(frozen=True)
class GalleryStats:
    """`threshold[i][j]`: the cosine at which a random gallery of `sizes[i]` faces (one per person) names a share
    `rates[j]` of other people's faces."""

    sizes: tuple[int, ...]
    rates: tuple[float, ...]
    threshold: tuple[tuple[float, ...], ...]
    draws: int


@dataclass(frozen=True)
class IdentityStats:
    """One identity's measured statistics; `center` and `weights` are what its vectors are made with."""

    impostor: Optional[ImpostorStats]
    galleries: Optional[GalleryStats] = None
    center: Optional[np.ndarray] = None  # subtracted before unit length (networks whose outputs share a cone)
    weights: Optional[dict] = None  # a fusion's weight of each part's cosine
    data: str = ""


def _parse(entry: dict, data: str) -> IdentityStats:
    imp = entry.get("impostor")
    impostor = ImpostorStats(tuple(imp["far"]), tuple(imp["threshold"]), float(imp["mean"]), float(imp["std"]),
                             int(imp["pairs"]), int(imp["people"]), int(imp["faces"])) if imp else None
    center = np.asarray(entry["center"], np.float32) if entry.get("center") is not None else None
    g = entry.get("galleries")
    galleries = GalleryStats(tuple(g["sizes"]), tuple(g["rates"]), tuple(tuple(r) for r in g["threshold"]),
                             int(g["draws"])) if g else None
    return IdentityStats(impostor, galleries, center, entry.get("weights"), data)


@lru_cache(maxsize=4)
def load_stats(path: Path = STATS_FILE) -> dict[str, IdentityStats]:
    """Every identity's statistics in `path` (empty when the file is missing)."""
    if not Path(path).is_file():
        return {}
    raw = json.loads(Path(path).read_text())
    data = str(raw.get("data", ""))
    return {name: _parse(entry, data) for name, entry in raw.get("identities", {}).items()}


def stats_path() -> Path:
    """The statistics file in force: $CELEBFACE_IDENTITY_STATS, else the one shipped beside this module."""
    env = os.environ.get(STATS_ENV)
    return Path(env) if env else STATS_FILE


def identity_stats(name: str) -> Optional[IdentityStats]:
    return load_stats(stats_path()).get(name)


def impostor_stats(vecs: np.ndarray, people: np.ndarray, max_pairs: int = 4_000_000,
                   seed: int = 0) -> ImpostorStats:
    """The impostor statistics of unit vectors `vecs` of `people` (every pair of faces of different people, or a
    random `max_pairs` of them).

    :param vecs: (N, D) unit vectors; people: (N,) their person ids"""
    vecs, people = np.asarray(vecs, np.float32), np.asarray(people)
    i, j = np.triu_indices(len(vecs), 1)
    keep = people[i] != people[j]
    sims = (vecs @ vecs.T)[i[keep], j[keep]]  # the Gram matrix: N^2 values, not N^2 pairs of D-long rows
    if len(sims) > max_pairs:
        sims = sims[np.random.default_rng(seed).choice(len(sims), max_pairs, replace=False)]
    far = np.geomspace(1e-5, 0.5, 43)
    thresholds = np.quantile(sims, 1 - far)
    return ImpostorStats(tuple(float(f) for f in far), tuple(float(t) for t in thresholds), float(sims.mean()),
                         float(sims.std()), int(len(sims)), int(len(np.unique(people))), int(len(vecs)))


def threshold_at_far(stats: ImpostorStats, far: float) -> float:
    """The cosine passed by a share `far` of different people's pairs (interpolated on a log scale; beyond the
    measured range, the range's end)."""
    logs = np.log(np.asarray(stats.far))
    return float(np.interp(np.log(max(far, 1e-12)), logs, np.asarray(stats.threshold)))


def small_gallery_threshold(name: str, faces: int, stranger_rate: float = STRANGER_RATE) -> Optional[float]:
    """The threshold at which a gallery of `faces` faces names at most `stranger_rate` of strangers' faces, from
    identity `name`'s impostor statistics; None when it has none.

    :param faces: how many faces the gallery holds (each is a stranger's chance to pass)"""
    stats, faces = identity_stats(name), max(int(faces), 1)
    if stats is None or stats.impostor is None:
        return None
    if stats.galleries is not None:
        return gallery_threshold(stats.galleries, faces, stranger_rate)
    per_pair = 1.0 - (1.0 - stranger_rate) ** (1.0 / faces)
    return threshold_at_far(stats.impostor, per_pair)


def gallery_threshold(g: GalleryStats, faces: int, rate: float) -> float:
    """The measured threshold for a gallery of `faces` faces naming a share `rate` of strangers (interpolated on
    log scales; beyond the largest gallery drawn, that gallery's threshold at the rate of independent faces)."""
    sizes, rates, table = np.asarray(g.sizes, float), np.log(np.asarray(g.rates)), np.asarray(g.threshold)
    if faces > sizes[-1]:
        rate = 1.0 - (1.0 - rate) ** (sizes[-1] / faces)
        faces = int(sizes[-1])
    at_rate = [float(np.interp(np.log(max(rate, 1e-12)), rates, row)) for row in table]
    return float(np.interp(np.log(faces), np.log(sizes), at_rate))


def draw_galleries(vecs: np.ndarray, people: np.ndarray, draws: int = 300, seed: int = 0) -> GalleryStats:
    """GalleryStats of unit vectors `vecs` of `people`: for each size, `draws` galleries of one random face of each
    of that many random people, against every face of the people left out."""
    rng, ids = np.random.default_rng(seed), np.unique(people)
    sizes = [g for g in (1, 2, 3, 5, 8, 12, 16, 24, 32) if g < len(ids)]
    rates = np.geomspace(1e-3, 0.2, 12)
    gram, table = np.asarray(vecs, np.float32) @ np.asarray(vecs, np.float32).T, []
    by_person = {k: np.flatnonzero(people == k) for k in ids}
    for size in sizes:
        best = []
        for _ in range(draws):
            chosen = rng.choice(ids, size, replace=False)
            gallery = [rng.choice(by_person[k]) for k in chosen]
            others = np.flatnonzero(~np.isin(people, chosen))
            best.append(gram[np.ix_(others, gallery)].max(1))
        table.append([float(t) for t in np.quantile(np.concatenate(best), 1 - rates)])
    return GalleryStats(tuple(sizes), tuple(float(r) for r in rates), tuple(tuple(r) for r in table), draws)


def pair_threshold(spec) -> float:
    """`compare`'s default: the identity's own pair threshold, else the cosine passed by PAIR_FAR of different
    people's pairs, else FALLBACK_THRESHOLD.

    :param spec: an IdentitySpec"""
    fixed = spec.extra.get("pair_threshold")
    if fixed is not None:
        return float(fixed)
    stats = identity_stats(spec.name)
    if stats is None or stats.impostor is None:
        return FALLBACK_THRESHOLD
    return round(threshold_at_far(stats.impostor, PAIR_FAR), 4)


def impostor_to_json(stats: ImpostorStats) -> dict:
    return {"far": list(stats.far), "threshold": list(stats.threshold), "mean": stats.mean, "std": stats.std,
            "pairs": stats.pairs, "people": stats.people, "faces": stats.faces}


def galleries_to_json(g: GalleryStats) -> dict:
    return {"sizes": list(g.sizes), "rates": list(g.rates), "threshold": [list(r) for r in g.threshold],
            "draws": g.draws}


def _identity_json(vecs: np.ndarray, people: np.ndarray) -> dict:
    return {"impostor": impostor_to_json(impostor_stats(vecs, people)),
            "galleries": galleries_to_json(draw_galleries(vecs, people))}


def fit_stats(raw: dict[str, np.ndarray], people: np.ndarray, centred: Sequence[str],
              fusions: dict[str, Sequence[str]]) -> dict[str, dict]:
    """Every identity's statistics from the raw vectors of the same faces (JSON-ready, as identity_stats.json holds
    them under "identities").

    :param raw: each single network's raw vectors of the faces (rows aligned)
    :param people: (N,) each face's person
    :param centred: the networks whose vectors are centred on their mean raw vector
    :param fusions: each fusion identity's parts (names of `raw`)"""
    from .identity_fusion import centred_unit, fuse, fusion_weights

    out, vecs, spread = {}, {}, {}
    for name, v in raw.items():
        center = np.asarray(v, np.float64).mean(0).astype(np.float32) if name in centred else None
        vecs[name] = centred_unit(v, center)
        out[name] = _identity_json(vecs[name], people)
        spread[name] = out[name]["impostor"]["std"]
        if center is not None:
            out[name]["center"] = [float(x) for x in center]
    for name, parts in fusions.items():
        weights = fusion_weights([spread[p] for p in parts])
        fused = fuse([vecs[p] for p in parts], weights)
        out[name] = {"weights": dict(zip(parts, weights)), **_identity_json(fused, people)}
    return out


def far_at_threshold(stats: ImpostorStats, threshold: float) -> float:
    """The share of different people's pairs at or above cosine `threshold` (threshold_at_far's inverse)."""
    t = np.asarray(stats.threshold)[::-1]  # ascending
    return float(np.exp(np.interp(threshold, t, np.log(np.asarray(stats.far))[::-1])))


def same_strictness(distance: float, measured_on: str, identity: str) -> float:
    """A cosine distance measured on `measured_on`'s vectors, carried to `identity`'s: the distance at which as
    many different people's pairs fall within it (the same false-accept rate); unchanged without statistics."""
    a, b = identity_stats(measured_on), identity_stats(identity)
    if identity == measured_on or a is None or b is None or a.impostor is None or b.impostor is None:
        return distance
    return 1.0 - threshold_at_far(b.impostor, far_at_threshold(a.impostor, 1.0 - distance))
