"""`celebface index --add-to-gallery`: the faces of an index (its Parquet shards) into the model's gallery
database as sightings, for search (`celebface search`) and clustering later.

Only the driver writes, after the job: with a PostgreSQL gallery every machine of a cluster can then search the
same faces; the SQLite gallery is this machine's only. Adding the same index twice adds nothing.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Optional

import numpy as np


@dataclass(frozen=True)
class GalleryAdd:
    """Faces of the index with an embedding, and how many of them were new to the gallery."""

    faces: int
    added: int
    grouped: str = ""  # what the grouping run that followed did (gallery/grouping.py), "" if none ran


def add_index_to_gallery(model_dir: Path, out: str, url: Optional[str] = None, batch: int = 2000,
                         group: bool = True) -> GalleryAdd:
    """Store every face of the index in RESULTS_DIR `out` as a sighting in the model's gallery, then (when any was
    new) group the new faces into people: attached to the people they clearly are, or new unnamed people
    (gallery/grouping.py; one change in the gallery's history).

    The index is read a shard at a time. SQLite takes one transaction per `batch` faces; PostgreSQL loads them all
    in one transaction by COPY, building its HNSW index after the load when the table was small against the load
    (gallery/postgres_load.py).

    :param model_dir: the model folder whose gallery receives the faces.
    :param out: RESULTS_DIR of `celebface index`.
    :param url: a PostgreSQL URL (else CELEBFACE_GALLERY, MODEL_DIR/gallery.json or MODEL_DIR/gallery.db).
    :param batch: faces per chunk (and per transaction on SQLite).
    :param group: group the new faces into people afterwards.
    """
    from ..gallery import open_gallery
    from ..gallery.grouping import group_gallery
    from .index import index_faces

    seen = [0]
    store = open_gallery(model_dir, url)
    try:
        added = store.add_sightings_many(_chunks(out, batch, seen, store.backbone), total=index_faces(out))
        grouped = group_gallery(store).summary if group and added else ""
    finally:
        store.close()
    return GalleryAdd(seen[0], added, grouped)


def _chunks(out: str, batch: int, seen: list[int], recorded: str) -> Iterator[tuple[list, np.ndarray]]:
    """(sightings, embeddings) of the index's faces, `batch` at a time; seen[0] counts them.

    :param recorded: what the gallery records of its identity (Store.backbone): a shard of another identity's
        vectors is a clear error (checked before any of its rows is written)"""
    import pyarrow.compute as pc

    from ..faces.identity import check_same_identity, identity_of_gallery
    from ..gallery.sightings import Sighting
    from .index import iter_index
    from .rows import table_identity

    expected = identity_of_gallery(recorded).name
    for table in iter_index(out):
        check_same_identity(expected, table_identity(table), f"the index {out}")
        table = table.filter(pc.and_(pc.equal(table.column("status"), "ok"), pc.is_valid(table.column("embedding"))))
        for start in range(0, table.num_rows, batch):
            part = table.slice(start, batch).to_pydict()
            rows = [Sighting(sha256=part["sha256"][i], path=part["path"][i], time=part["time"][i],
                             face=part["face"][i], box=part["box"][i], quality=part["quality"][i],
                             name=part["name"][i], score=part["score"][i]) for i in range(len(part["path"]))]
            seen[0] += len(rows)
            yield rows, np.asarray(part["embedding"], np.float32)


@dataclass(frozen=True)
class FaceSearch:
    """One face of the query photo (its box and the model's name for it) and the archive's faces nearest to it."""

    face: int
    box: Optional[list[float]]
    name: Optional[str]
    matches: list


def search_archive(model_dir: Path, photo: str, k: int = 10, url: Optional[str] = None) -> list[FaceSearch]:
    """The archive faces (sightings) most like each face in `photo`, nearest first.

    :param model_dir: the model folder whose gallery holds the sightings (`index --add-to-gallery`).
    :param photo: a photo file or URI.
    :param k: matches per face.
    :param url: a PostgreSQL URL (as for `add_index_to_gallery`).
    """
    from ..errors import DataError
    from ..gallery import open_gallery
    from .worker import PhotoIndexer

    rows = PhotoIndexer(str(Path(model_dir).resolve()), threads=None).index_photo(str(photo), "query")
    if rows[0].status == "unreadable":
        raise DataError(f"cannot read {photo}: {rows[0].error}")
    store = open_gallery(model_dir, url)
    try:
        if store.count_sightings() == 0:
            raise DataError("the gallery holds no archive faces yet: run `celebface index MODEL_DIR SOURCE... "
                            "--out RESULTS_DIR --add-to-gallery` first")
        return [FaceSearch(r.face, r.box, r.name, store.search_sightings(np.asarray(r.embedding, np.float32), k))
                for r in rows if r.status == "ok" and r.embedding is not None]
    finally:
        store.close()
