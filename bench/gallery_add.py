"""`python bench/gallery_add.py [--sizes 100000 1000000]`: how fast `index --add-to-gallery` stores archive faces.

For each size N: N generated faces (unit 128-d vectors, sightings of N/2 photos) are loaded into an empty gallery
as add_index_to_gallery does (chunks of 2,000), then 2,000 more faces into the loaded table (the incremental add of
a later, small index). Backends: SQLite, and PostgreSQL + pgvector (pgserver, on this machine). For PostgreSQL the
old way (one INSERT a face into the indexed table) is timed on the first REFERENCE faces only, for comparison.
Writes bench/gallery_add.md and prints it. Times are reported, never asserted.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
CHUNK = 2000
REFERENCE = 20000


def chunks(start: int, n: int, seed: int):
    """(sightings, vectors) of faces start..start+n, CHUNK at a time."""
    from celebface.gallery.sightings import Sighting

    rng = np.random.default_rng(seed)
    for a in range(start, start + n, CHUNK):
        b = min(a + CHUNK, start + n)
        v = rng.standard_normal((b - a, 128)).astype(np.float32)
        v /= np.linalg.norm(v, axis=1, keepdims=True)
        yield [Sighting(sha256=f"{i // 2:064x}", path=f"/archive/{i // 2}.jpg", time=None, face=i % 2,
                        box=[10.0, 20.0, 110.0, 140.0], quality=0.9, name=None, score=0.0) for i in range(a, b)], v


def timed_load(store, start: int, n: int, seed: int) -> tuple[float, int]:
    t = time.perf_counter()
    added = store.add_sightings_many(chunks(start, n, seed), total=n)
    return time.perf_counter() - t, added


def old_way(store, n: int) -> float:
    """The add before this bench: one INSERT a face (SightingsSql.add_sightings), a transaction per chunk."""
    from celebface.gallery.sightings import SightingsSql

    t = time.perf_counter()
    for rows, vecs in chunks(0, n, 99):
        SightingsSql.add_sightings(store, rows, vecs)
    return time.perf_counter() - t


def row(backend: str, what: str, n: int, seconds: float, added: int) -> str:
    line = f"| {backend} | {what} | {n:,} | {seconds:.1f} | {n / seconds:,.0f} | {added:,} |"
    print(line, flush=True)
    return line


def run(sizes: list[int], tmp: Path) -> list[str]:
    import pgserver

    from celebface.gallery.postgres import PostgresStore
    from celebface.gallery.sqlite import SQLiteStore

    lines = []
    server = pgserver.get_server(tmp / "pg", cleanup_mode="stop")
    server.psql("CREATE DATABASE reference;")
    ref = PostgresStore(server.get_uri("reference"), "dlib_face", 128)
    lines.append(row("postgresql", "one INSERT a face, index grown (before)", REFERENCE, old_way(ref, REFERENCE),
                     ref.count_sightings()))
    ref.close()
    for n in sizes:
        server.psql(f"CREATE DATABASE load_{n};")
        stores = (("sqlite", SQLiteStore(tmp / f"load_{n}.db", "dlib_face", 128)),
                  ("postgresql", PostgresStore(server.get_uri(f"load_{n}"), "dlib_face", 128)))
        for name, store in stores:
            lines.append(row(name, "into an empty table", n, *timed_load(store, 0, n, 1)))
            lines.append(row(name, f"{CHUNK:,} more into it", CHUNK, *timed_load(store, n, CHUNK, 2)))
            store.close()
    server.cleanup()
    return lines


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[100000, 1000000])
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "gallery_add.md")
    args = ap.parse_args()
    head = ["# Adding archive faces to the gallery (`index --add-to-gallery`)", "",
            f"Date {time.strftime('%Y-%m-%d %H:%M')}, this 2-core CPU, PostgreSQL 16 + pgvector 0.6.2 from pgserver "
            f"on the same machine (default settings), generated unit 128-d embeddings, {CHUNK:,} faces a chunk. "
            f"Command: `python bench/gallery_add.py --sizes {' '.join(map(str, args.sizes))}`.", "",
            "PostgreSQL loads by COPY; a load into a table holding fewer than 4x the faces added drops the "
            "sightings' HNSW index and builds it once after the load (gallery/postgres_load.py), a smaller one "
            "grows it face by face. SQLite has no vector index on sightings (searched by an exact scan).", "",
            "| backend | load | faces | s | faces/s | new faces stored |", "|---|---|---:|---:|---:|---:|"]
    print("\n".join(head), flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        lines = run(args.sizes, Path(tmp))
    args.out.write_text("\n".join(head + lines) + "\n")


if __name__ == "__main__":
    main()
