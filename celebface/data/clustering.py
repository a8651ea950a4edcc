"""Grouping face embeddings into people, and scoring a grouping against true names.

Labels are cluster ids 0..K-1, or -1 for a face that fits no cluster (left out).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import numpy as np

#: Cosine distance (dlib embeddings) at which two groups stop being merged (average linkage). Swept 0.08-0.16 on
#: the chosen faces of celeb5, sports5 and glint12 (bench/data.py): 0.10 was best on all three.
LINK_DISTANCE = 0.10
#: Cosine-distance radius of the face graph for Chinese whispers (the default method). Swept 0.07-0.16 on the
#: same sets: 0.085 gave BCubed F 0.98 / 0.95 / 0.91; at 0.10 glint12's people start to merge (0.84).
GRAPH_RADIUS = 0.085
#: Above this many faces average linkage (O(n^2) memory) gives way to Chinese whispers on a sparse graph.
MAX_AGGLOMERATIVE = 15000
METHODS = ("chinese_whispers", "agglomerative", "dbscan", "hdbscan")
DEFAULT_DISTANCE = {"chinese_whispers": GRAPH_RADIUS, "agglomerative": LINK_DISTANCE, "dbscan": GRAPH_RADIUS,
                    "hdbscan": 0.0}


def _drop_small(labels: np.ndarray, min_faces: int) -> np.ndarray:
    """Renumber clusters by decreasing size; clusters under `min_faces` become -1."""
    out = np.full(len(labels), -1, dtype=np.int64)
    ids, counts = np.unique(labels[labels >= 0], return_counts=True)
    order = [i for _, i in sorted(zip(-counts, ids)) if counts[ids == i][0] >= min_faces]
    for new, old in enumerate(order):
        out[labels == old] = new
    return out


def agglomerative(vecs: np.ndarray, distance: float = LINK_DISTANCE) -> np.ndarray:
    """Average-linkage clustering on cosine distance, cut at `distance`.

    :param vecs: (N, D) unit vectors.
    :param distance: the cut.
    """
    from sklearn.cluster import AgglomerativeClustering

    if len(vecs) < 2:
        return np.zeros(len(vecs), np.int64)
    model = AgglomerativeClustering(n_clusters=None, metric="cosine", linkage="average", distance_threshold=distance)
    return model.fit_predict(vecs).astype(np.int64)


def chinese_whispers(vecs: np.ndarray, radius: float = GRAPH_RADIUS, iterations: int = 20, seed: int = 0
                     ) -> np.ndarray:
    """Chinese whispers on the graph joining faces closer than `radius` (sparse: scales to many faces).

    :param vecs: (N, D) unit vectors.
    :param radius: cosine-distance radius of the graph.
    :param iterations: label-propagation rounds.
    :param seed: the visiting order's seed.
    """
    from sklearn.neighbors import NearestNeighbors

    n = len(vecs)
    if n == 0:
        return np.zeros(0, np.int64)
    # On unit vectors, cosine distance d equals squared Euclidean distance / 2.
    nn = NearestNeighbors(radius=float(np.sqrt(2 * radius))).fit(vecs)
    graph = nn.radius_neighbors_graph(vecs, mode="distance").tocsr()
    labels = np.arange(n)
    rng = np.random.default_rng(seed)
    for _ in range(iterations):
        changed = 0
        for i in rng.permutation(n):
            lo, hi = graph.indptr[i], graph.indptr[i + 1]
            nbrs, d = graph.indices[lo:hi], graph.data[lo:hi]
            keep = nbrs != i
            if not keep.any():
                continue
            weights = np.bincount(labels[nbrs[keep]], weights=1.0 - d[keep] ** 2 / 2, minlength=0)
            best = int(np.argmax(weights))
            if best != labels[i]:
                labels[i], changed = best, changed + 1
        if not changed:
            break
    return np.unique(labels, return_inverse=True)[1].astype(np.int64)


def dbscan(vecs: np.ndarray, radius: float = GRAPH_RADIUS, min_faces: int = 3) -> np.ndarray:
    """DBSCAN on cosine distance (noise = -1).

    :param vecs: (N, D) unit vectors.
    :param radius: eps, as a cosine distance.
    :param min_faces: min_samples.
    """
    from sklearn.cluster import DBSCAN

    return DBSCAN(eps=radius, min_samples=min_faces, metric="cosine").fit_predict(vecs).astype(np.int64)


def hdbscan(vecs: np.ndarray, min_faces: int = 3) -> np.ndarray:
    """HDBSCAN (scikit-learn) on Euclidean distance between unit vectors (noise = -1).

    :param vecs: (N, D) unit vectors.
    :param min_faces: min_cluster_size.
    """
    from sklearn.cluster import HDBSCAN

    if len(vecs) < max(2, min_faces):
        return np.full(len(vecs), -1, np.int64)
    return HDBSCAN(min_cluster_size=max(2, min_faces), copy=True).fit_predict(vecs).astype(np.int64)


def cluster_vectors(vecs: np.ndarray, method: str = "chinese_whispers", min_faces: int = 3,
                    distance: Optional[float] = None) -> np.ndarray:
    """Cluster ids (largest cluster 0) for face embeddings; faces in clusters under `min_faces` get -1.

    :param vecs: (N, D) unit vectors.
    :param method: one of METHODS; "agglomerative" switches to Chinese whispers above MAX_AGGLOMERATIVE faces.
    :param min_faces: the smallest cluster kept.
    :param distance: the cut (agglomerative) or radius (the others) as a cosine distance; default per method.
    """
    vecs = np.asarray(vecs, np.float32)
    if method == "agglomerative" and len(vecs) > MAX_AGGLOMERATIVE:
        method, distance = "chinese_whispers", None
    if method in DEFAULT_DISTANCE and distance is None:
        distance = DEFAULT_DISTANCE[method]
    if method == "agglomerative":
        labels = agglomerative(vecs, distance)
    elif method == "chinese_whispers":
        labels = chinese_whispers(vecs, distance)
    elif method == "dbscan":
        labels = dbscan(vecs, distance, min_faces)
    elif method == "hdbscan":
        labels = hdbscan(vecs, min_faces)
    else:
        from ..errors import ConfigError

        raise ConfigError(f"unknown clustering method {method!r}: use one of {', '.join(METHODS)}")
    return _drop_small(labels, min_faces)


@dataclass(frozen=True)
class ClusterScores:
    bcubed_precision: float
    bcubed_recall: float
    bcubed_f: float
    pairwise_precision: float
    pairwise_recall: float
    clusters: int  # clusters found (left-out faces not counted)
    people: int  # true people
    left_out: int  # faces in no cluster


def score_clusters(truth: np.ndarray, labels: np.ndarray) -> ClusterScores:
    """BCubed and pairwise precision/recall of cluster labels against true people (left-out faces = singletons).

    :param truth: (N,) true person of each face (any hashable values).
    :param labels: (N,) cluster ids, -1 = left out.
    """
    from sklearn.metrics.cluster import contingency_matrix

    truth = np.unique(np.asarray(truth), return_inverse=True)[1]
    labels = np.asarray(labels).copy()
    left_out = labels < 0
    labels[left_out] = labels.max(initial=-1) + 1 + np.arange(int(left_out.sum()))
    c = contingency_matrix(truth, labels).astype(np.float64)  # rows: people, cols: clusters
    cap = c.sum(axis=0)  # cluster sizes
    row = c.sum(axis=1)  # people sizes
    n = c.sum()
    bp = float((c ** 2 / cap[None, :]).sum() / n)
    br = float((c ** 2 / row[:, None]).sum() / n)
    same_both = (c * (c - 1)).sum() / 2
    same_cluster = (cap * (cap - 1)).sum() / 2
    same_person = (row * (row - 1)).sum() / 2
    return ClusterScores(
        bcubed_precision=round(bp, 4), bcubed_recall=round(br, 4), bcubed_f=round(2 * bp * br / (bp + br), 4),
        pairwise_precision=round(float(same_both / same_cluster), 4) if same_cluster else 1.0,
        pairwise_recall=round(float(same_both / same_person), 4) if same_person else 1.0,
        clusters=int(len(np.unique(np.asarray(labels)[~left_out]))), people=int(c.shape[0]),
        left_out=int(left_out.sum()))
