"""Search at scale for bench/gallery.py: galleries of N faces (real dlib embeddings plus generated ones).

Generated faces: people as random unit centres, each face its centre plus noise at the spread of real dlib
embeddings (cosine to own centre ~0.9), so neighbours are as crowded as in a real gallery. Queries: new faces
of gallery people. Measured per backend: open time (load + index build), p50/p95 of one-face queries, recall@1
(the nearest face id agrees with exact search), process memory growth, and index build time.
"""
from __future__ import annotations

import gc
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import numpy as np

DIM = 128
FETCH = 50  # faces fetched per query, as GalleryMatcher does (k=10 people x gallery/index.py OVERFETCH 5)
EF_USEARCH = (64, 128, 256)  # usearch expansion_search (the candidate list; at least FETCH)
EF_PGVECTOR = (100, 200, 400)  # pgvector hnsw.ef_search
BUILD_LIMIT_S = 900  # an index that does not build in 15 minutes is reported as such (issue 10)


@dataclass
class ScaleRow:
    backend: str
    faces: int
    open_s: float
    build_s: float
    p50_ms: float
    p95_ms: float
    recall1: float
    mem_mb: float


def rss_mb() -> float:
    import psutil

    return psutil.Process(os.getpid()).memory_info().rss / 2**20


def generate(n: int, real: Optional[np.ndarray], seed: int = 0, per_person: int = 10
             ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(labels, vectors) of n gallery faces and (Q, D) queries near them; real embeddings first if given."""
    rng = np.random.default_rng(seed)
    people = max(n // per_person, 1)
    centres = rng.normal(size=(people, DIM)).astype(np.float32)
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    labels = np.arange(n) % people
    vecs = centres[labels] + rng.normal(scale=0.45 / np.sqrt(DIM), size=(n, DIM)).astype(np.float32)
    if real is not None:
        m = min(len(real), n)
        vecs[:m] = real[:m]
    vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
    qlab = rng.integers(0, people, 300)
    queries = centres[qlab] + rng.normal(scale=0.45 / np.sqrt(DIM), size=(300, DIM)).astype(np.float32)
    queries /= np.linalg.norm(queries, axis=1, keepdims=True)
    return labels, vecs.astype(np.float32), queries.astype(np.float32)


def fill(store, labels: np.ndarray, vecs: np.ndarray) -> float:
    """Put the faces in the store in one change (as a model import does); returns seconds."""
    from celebface.gallery.records import NewFace

    t = time.perf_counter()
    names = [f"person_{i}" for i in range(int(labels.max()) + 1)]
    store.import_training("bench", names, [NewFace(v) for v in vecs], labels)
    return time.perf_counter() - t


def timed_queries(search, queries: np.ndarray) -> tuple[np.ndarray, float, float]:
    """Top-1 face ids and p50/p95 milliseconds of one-face queries."""
    out, times = [], []
    for q in queries:
        t = time.perf_counter()
        ids = search(q[None])
        times.append((time.perf_counter() - t) * 1000)
        out.append(ids[0, 0])
    return np.array(out), float(np.percentile(times, 50)), float(np.percentile(times, 95))


def _open(store, index: str):
    from celebface.gallery.matcher import GalleryMatcher

    gc.collect()
    before, t = rss_mb(), time.perf_counter()
    m = GalleryMatcher(store, index=index, threshold=0.8)  # fixed threshold: time the index, not calibration
    return m, time.perf_counter() - t, rss_mb() - before


def run_sqlite(tmp: Path, n: int, labels, vecs, queries) -> list[ScaleRow]:
    """SQLite + exact and SQLite + usearch HNSW, each opened through GalleryMatcher as a server worker does.
    HNSW: the first open builds the graph and saves it beside gallery.db (build s); the open time is the next
    process's, which loads the saved graph."""
    from celebface.gallery.sqlite import SQLiteStore

    store = SQLiteStore(tmp / f"scale_{n}.db", "dlib_face", DIM)
    fill(store, labels, vecs)
    exact, open_exact, mem_exact = _open(store, "exact")
    truth, p50, p95 = timed_queries(lambda q: exact._index.index.nearest_faces(q, 10).faces, queries)
    rows = [ScaleRow("sqlite+exact", n, open_exact, 0.0, p50, p95, 1.0, mem_exact)]
    exact = None  # free it before the HNSW rows measure memory
    _, build, _ = _open(store, "hnsw")
    hnsw, open_hnsw, mem_hnsw = _open(store, "hnsw")
    for ef in EF_USEARCH:
        hnsw._index.index.index.expansion_search = ef
        top, p50, p95 = timed_queries(lambda q: hnsw._index.index.nearest_faces(q, FETCH).faces, queries)
        rows.append(ScaleRow(f"sqlite+usearch-hnsw, ef {ef}", n, open_hnsw, build, p50, p95,
                             float((top == truth).mean()), mem_hnsw))
    store.close()
    return rows


def run_postgres(url: str, n: int, labels, vecs, queries, truth: np.ndarray) -> list[ScaleRow]:
    """PostgreSQL + pgvector HNSW: bulk load, then build the index (timed), then one query per face."""
    from celebface.gallery.postgres import PostgresStore

    store = PostgresStore(url, "dlib_face", DIM)
    with store._tx(write=True) as cur:
        cur.execute("DROP INDEX IF EXISTS faces_hnsw")
    fill(store, labels, vecs)
    t = time.perf_counter()
    try:
        with store._tx(write=True) as cur:
            cur.execute("SET maintenance_work_mem = '2GB'")  # the graph of 1M faces fits: no slower on-disk build
            cur.execute(f"SET statement_timeout = '{BUILD_LIMIT_S}s'")
            cur.execute("CREATE INDEX faces_hnsw ON faces USING hnsw (embedding vector_cosine_ops)")
    except Exception as exc:  # the build ran past BUILD_LIMIT_S (psycopg QueryCanceled): no row but the time
        print(f"pgvector HNSW build of {n:,} faces stopped after {time.perf_counter() - t:.0f} s: {exc}", flush=True)
        store.close()
        return [ScaleRow("postgresql+pgvector-hnsw (not built)", n, 0.0, time.perf_counter() - t, float("nan"),
                         float("nan"), float("nan"), float("nan"))]
    build = time.perf_counter() - t
    t = time.perf_counter()
    store.close()
    store = PostgresStore(url, "dlib_face", DIM)
    open_s = time.perf_counter() - t
    names = store.names()  # noqa: F841  (what a server loads at start in server mode)

    def search(q, ef):
        with store._tx(write=False) as cur:
            cur.execute(f"SET LOCAL hnsw.ef_search = {ef}")
            cur.execute("SELECT id FROM faces ORDER BY embedding <=> %s LIMIT %s", (store._vec_in(q[0]), FETCH))
            return np.array([[r[0] for r in cur.fetchall()]])

    with store._tx(write=False) as cur:
        cur.execute("SELECT pg_relation_size('faces_hnsw')")
        size = cur.fetchone()[0] / 2**20
    rows = []
    for ef in EF_PGVECTOR:
        top, p50, p95 = timed_queries(lambda q: search(q, ef), queries)
        rows.append(ScaleRow(f"postgresql+pgvector-hnsw, ef_search {ef}", n, open_s, build, p50, p95,
                             float((top == truth).mean()), size))
    store.close()
    return rows
