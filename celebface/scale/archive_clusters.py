"""`celebface cluster --archive MODEL_DIR`: group the faces an index stored in the gallery (`index --add-to-gallery`)
into people, without detecting or embedding anything again.

The sightings' embeddings are read from the gallery database (SQLite or PostgreSQL) in bounded batches and
clustered as `celebface cluster` clusters photos (celebface.data.clustering). CLUSTERS_DIR has the same layout:
clusters.json lists every face of every cluster (photo or video, time, box); face crops are cut again from the
photos, at most `crops` a cluster (enough to look at and to `enroll --cluster`), each photo read once. Faces seen in
videos are listed with their time but get no crop. A cluster is named when most of its faces carry one known name
(the name the model gave them when the archive was indexed).
"""
from __future__ import annotations

import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import numpy as np

from ..data.cluster import INDEX_NAME, ClusterFace, ClusterIndex, ClusterInfo, contact_sheet, majority_name
from ..data.clustering import DEFAULT_DISTANCE, cluster_vectors
from ..errors import DataError

#: Face crops cut again from the photos per cluster (clusters.json lists every face).
CROPS_PER_CLUSTER = 36


@dataclass(frozen=True)
class ArchiveFaces:
    """Every sighting's place (path, video time or None, face index, box, the model's name) and embedding."""

    paths: list[str]
    times: list[Optional[float]]
    boxes: list[Optional[list[float]]]
    names: list[Optional[str]]
    photos: int  # distinct photos and videos (by content hash)
    vecs: np.ndarray


def read_archive(store) -> ArchiveFaces:
    """All sightings of a gallery store, batch by batch.

    :param store: an open GalleryStore (celebface.gallery.open_gallery).
    """
    paths, times, boxes, names, hashes, vecs = [], [], [], [], set(), []
    for rows, v in store.iter_sightings():
        for s in rows:
            paths.append(s.path)
            times.append(s.time)
            boxes.append(s.box)
            names.append(s.name)
            hashes.add(s.sha256)
        vecs.append(np.asarray(v, np.float32))
    all_vecs = np.concatenate(vecs) if vecs else np.zeros((0, store.dim), np.float32)
    return ArchiveFaces(paths, times, boxes, names, len(hashes), all_vecs)


def crop_geometry(model_dir: Path) -> tuple[float, int]:
    """The margin and crop size of the model's own face crops (what `enroll --cluster` will embed).

    :param model_dir: the model folder.
    """
    from ..config import CROP_SIZE, MARGIN
    from ..io.fileio import read_json
    from ..recognition.bundle import bundle_dir

    cfg = bundle_dir(Path(model_dir)) / "config.json"
    pp = read_json(cfg).get("preprocessing", {}) if cfg.is_file() else {}
    return float(pp.get("margin", MARGIN)), int(pp.get("crop_size", CROP_SIZE))


def _cut_crops(faces: ArchiveFaces, picks: dict[int, tuple[Path, str]], geometry: tuple[float, int]) -> int:
    """Cut the picked faces (sighting index -> (folder, crop name)) from their photos with the model's crop
    geometry (margin, size); returns how many photos could not be read (moved, deleted or unreadable since they
    were indexed)."""
    from ..errors import ImageError
    from ..faces.align import crop_face
    from ..io.fileio import save_image
    from ..io.images import load_image
    from .storage import read_source

    by_photo: dict[str, list[int]] = defaultdict(list)
    for i in picks:
        by_photo[faces.paths[i]].append(i)
    failed = 0
    for path, idx in by_photo.items():
        try:
            img = load_image(read_source(path))
        except (ImageError, OSError):
            failed += 1
            continue
        for i in idx:
            folder, name = picks[i]
            save_image(crop_face(img, list(faces.boxes[i]), *geometry), folder / name, quality=90)
    return failed


def _pick_crops(faces: ArchiveFaces, members: np.ndarray, folder: Path, crops: int) -> dict[int, tuple[Path, str]]:
    """Up to `crops` photo faces of one cluster, spread over it, with their crop file names."""
    photo = [int(i) for i in members if faces.times[i] is None and faces.boxes[i]]
    step = max(1, len(photo) // max(crops, 1))
    return {i: (folder, f"{Path(faces.paths[i]).stem[:40]}_{i}.jpg") for i in photo[::step][:crops]}


def _write(root: Path, faces: ArchiveFaces, labels: np.ndarray, crops: int, geometry: tuple[float, int]
           ) -> tuple[list[ClusterInfo], int]:
    """The cluster folders under `root`; returns their infos and how many photos could not be read for crops."""
    infos, picks = [], {}
    for c in range(int(labels.max(initial=-1)) + 1):
        cid = f"c{c + 1:03d}"
        folder = root / cid
        folder.mkdir()
        members = np.nonzero(labels == c)[0]
        mine = _pick_crops(faces, members, folder, crops)
        picks.update(mine)
        listed = [ClusterFace(photo=faces.paths[i], time=faces.times[i], box=faces.boxes[i] or [],
                              crop=mine[i][1] if i in mine else "") for i in members]
        name, share = majority_name([faces.names[i] for i in members])
        infos.append(ClusterInfo(id=cid, size=len(members), name=name, name_score=share, faces=listed))
    failed = _cut_crops(faces, picks, geometry)
    for info in infos:
        folder = root / info.id
        cut = [folder / f.crop for f in info.faces if f.crop and (folder / f.crop).exists()]
        if cut:
            contact_sheet(cut, folder / "contact_sheet.png")
    return infos, failed


def archive_distance(method: str, identity: str) -> float:
    """The method's measured cut (data/clustering.py, on dlib's vectors) carried to the archive's identity: the
    distance within which as many different people's pairs fall (faces/identity_stats.same_strictness)."""
    from ..faces.identity_stats import same_strictness

    cut = DEFAULT_DISTANCE[method]
    return same_strictness(cut, "dlib", identity) if cut > 0 else cut  # 0: no cut (hdbscan)


def cluster_archive(model_dir: Path, out_dir: Path, url: Optional[str] = None, min_faces: int = 3,
                    method: str = "chinese_whispers", distance: Optional[float] = None,
                    crops: int = CROPS_PER_CLUSTER) -> ClusterIndex:
    """Cluster the archive faces stored in a model's gallery into CLUSTERS_DIR; returns the index it writes.

    :param model_dir: the model folder whose gallery holds the sightings (`index --add-to-gallery`).
    :param out_dir: CLUSTERS_DIR; replaced as a whole (refused if it holds something other than clusters).
    :param url: a PostgreSQL URL (else CELEBFACE_GALLERY, MODEL_DIR/gallery.json or MODEL_DIR/gallery.db).
    :param min_faces: the smallest cluster kept; faces in smaller ones are left out and counted.
    :param method: a method of celebface.data.clustering.METHODS.
    :param distance: the clustering cut / radius (cosine distance; default: archive_distance).
    :param crops: face crops cut again from the photos per cluster.
    """
    from ..faces.identity import identity_of_gallery
    from ..gallery import open_gallery
    from ..io.fileio import atomic_dir
    from ..recognition.bundle import require_model_dir

    start = time.time()
    require_model_dir(model_dir)  # never make a gallery.db in a folder that is not a model
    out_dir = Path(out_dir)
    if out_dir.exists() and any(out_dir.iterdir()) and not (out_dir / INDEX_NAME).exists():
        raise DataError(f"{out_dir} exists and is not a clusters folder: give --out a new or empty folder.")
    if method not in DEFAULT_DISTANCE:
        raise DataError(f"unknown clustering method {method!r}: use one of {', '.join(DEFAULT_DISTANCE)}")
    if min_faces < 1:
        raise DataError("--min-faces must be at least 1")
    store = open_gallery(model_dir, url)
    try:
        faces, identity = read_archive(store), identity_of_gallery(store.backbone).name
    finally:
        store.close()
    if not faces.paths:
        raise DataError("the gallery holds no archive faces yet: run `celebface index MODEL_DIR SOURCE... "
                        "--out RESULTS_DIR --add-to-gallery` first")
    distance = archive_distance(method, identity) if distance is None else distance
    labels = cluster_vectors(faces.vecs, method, min_faces, distance)
    with atomic_dir(out_dir) as tmp:
        clusters, failed = _write(tmp, faces, labels, crops, crop_geometry(model_dir))
        index = ClusterIndex(photos=faces.photos, unreadable=failed, photos_without_face=0, faces=len(faces.paths),
                             left_out=int((labels < 0).sum()), method=method, distance=distance, min_faces=min_faces,
                             model=f"{model_dir} (archive)", clusters=clusters, seconds=round(time.time() - start, 2))
        (tmp / INDEX_NAME).write_text(index.model_dump_json(indent=1), encoding="utf-8")
    return index
