"""Gallery benchmark: few-shot naming accuracy, enrolment time, and search at scale; writes bench/gallery.md.

    python bench/gallery.py [--sizes 10000,100000,1000000] [--pg-sizes 10000,100000] [--skip-fewshot]

Figures are measured on this machine each run; nothing is copied in.
"""
from __future__ import annotations

import argparse
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from gallery_scale import generate, run_postgres, run_sqlite  # noqa: E402

OUT = Path(__file__).resolve().parent / "gallery.md"


def scale_section(tmp: Path, sizes: list[int], pg_sizes: list[int], real: np.ndarray | None) -> list[str]:
    lines = ["## Search at scale", "",
             "One-face queries (the 50 nearest faces, as the matcher fetches for 10 people) against N faces (real "
             "dlib embeddings first, then generated people of 10 faces each); recall@1: the nearest face agrees "
             "with exact search. Open: load from the database + build the index (what a server worker does at "
             "start). Memory: process RSS growth (pgvector: size of the HNSW index on disk).", "",
             "| backend | faces | open s | index build s | p50 ms | p95 ms | recall@1 | memory MB |",
             "|---|---:|---:|---:|---:|---:|---:|---:|"]
    server = None
    for n in sizes:
        labels, vecs, queries = generate(n, real)
        t = time.perf_counter()
        lines += _printed(run_sqlite(tmp, n, labels, vecs, queries))
        print(f"sqlite {n}: {time.perf_counter() - t:.1f} s", flush=True)
        if n in pg_sizes:
            import pgserver

            server = server or pgserver.get_server(tmp / "pg", cleanup_mode="stop")
            server.psql(f"CREATE DATABASE scale_{n};")
            truth = _truth(tmp, n)
            lines += _printed(run_postgres(server.get_uri(f"scale_{n}"), n, labels, vecs, queries, truth))
    if server is not None:
        server.cleanup()
    return lines + [""]


def _printed(rows: list) -> list[str]:
    """Table lines of ScaleRows, printed as they come (a run cut short still leaves them in its log)."""
    lines = [f"| {r.backend} | {r.faces:,} | {r.open_s:.2f} | {r.build_s:.2f} | {r.p50_ms:.2f} | {r.p95_ms:.2f} | "
             f"{r.recall1:.3f} | {r.mem_mb:.0f} |" for r in rows]
    print("\n".join(lines), flush=True)
    return lines


def _truth(tmp: Path, n: int) -> np.ndarray:
    from celebface.gallery.index import ExactIndex
    from celebface.gallery.sqlite import SQLiteStore

    labels, vecs, queries = generate(n, _REAL[0])
    store = SQLiteStore(tmp / f"scale_{n}.db", "dlib_face", 128)
    index = ExactIndex(128)
    index.update(store.changes_since(0))
    store.close()
    return index.nearest_faces(queries, 1).faces[:, 0]


_REAL: list = [None]


def kept_scale_section() -> list[str]:
    """With --sizes "": the search-at-scale section of the previous bench/gallery.md, marked as such."""
    if not OUT.is_file() or "## Search at scale" not in OUT.read_text():
        return []
    old = OUT.read_text()
    when = next((ln for ln in old.splitlines() if ln.startswith("Machine:")), "")
    section = old[old.index("## Search at scale"):].rstrip().splitlines()
    return section[:1] + ["", f"(Not rerun: kept from the previous run. {when})"] + section[1:] + [""]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="10000,100000")
    ap.add_argument("--pg-sizes", default="10000,100000")
    ap.add_argument("--skip-fewshot", action="store_true")
    ap.add_argument("--skip-enrol", action="store_true")
    ap.add_argument("--serve", action="store_true", help="also measure serve --workers 1 and 2 (about 3 min)")
    args = ap.parse_args()
    sizes = [int(s) for s in args.sizes.split(",") if s]
    pg_sizes = [int(s) for s in args.pg_sizes.split(",") if s]
    lines = ["# Gallery benchmark", "", f"Machine: {platform.machine()}, {platform.processor() or 'cpu'}, "
             f"python {platform.python_version()}; run {time.strftime('%Y-%m-%d %H:%M')}.", ""]
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        if not args.skip_fewshot:
            from gallery_fewshot import fewshot_section

            fs_lines, real = fewshot_section(tmp)
            lines += fs_lines
            _REAL[0] = real
        if not args.skip_enrol:
            from gallery_enrol import enrol_section

            lines += enrol_section(tmp)
        if args.serve:
            from gallery_serve import serve_section

            lines += serve_section(tmp)
        if sizes:
            lines += scale_section(tmp, sizes, pg_sizes, _REAL[0])
        else:
            lines += kept_scale_section()
    OUT.write_text("\n".join(lines) + "\n")
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
