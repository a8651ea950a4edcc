"""`celebface cluster`: group the faces of unnamed photos into people.

Photos stream through worker processes (one MTCNN + identity embedder each); only the faces' vectors and boxes stay
in memory, the crops go straight to disk. CLUSTERS_DIR gets one folder per cluster (face crops and
contact_sheet.png) and clusters.json; faces that fit no cluster are left out and counted.
"""
from __future__ import annotations

import multiprocessing as mp
import os
import shutil
import time
from pathlib import Path
from typing import Callable, Iterator, Optional, Sequence

import numpy as np
from pydantic import BaseModel

from ..config import ExtractSettings
from ..errors import DataError
from ..faces.identity import get_identity
from .clustering import DEFAULT_DISTANCE, cluster_vectors

INDEX_NAME = "clusters.json"
#: Names a cluster from its face crops: (name, share of faces) or (None, None).
Namer = Callable[[list[Path]], tuple[Optional[str], Optional[float]]]
STAGING = "_faces"
#: A contact sheet shows at most this many faces of a cluster, this many pixels each.
SHEET_FACES, SHEET_PX = 36, 96


class ClusterFace(BaseModel):
    photo: str  # the source photo (or video)
    box: list[float]  # [x1, y1, x2, y2] in the photo's pixels
    crop: str  # file name inside the cluster's folder ("" when no crop was kept: see `cluster --archive`)
    time: Optional[float] = None  # seconds into the video, for a face seen in a video frame


class ClusterInfo(BaseModel):
    id: str
    size: int
    name: Optional[str] = None  # with --model: the known person the cluster matches
    name_score: Optional[float] = None
    faces: list[ClusterFace]


class ClusterIndex(BaseModel):
    photos: int
    unreadable: int
    photos_without_face: int
    faces: int
    left_out: int  # faces in no cluster of at least min_faces
    method: str
    distance: float
    min_faces: int
    model: Optional[str] = None
    clusters: list[ClusterInfo]
    seconds: float


#: The identity embedder clustering compares faces with: its distance thresholds were measured on dlib's single-view
#: vectors (bench/data.md), so it stays dlib's whatever a model's identity is.
CLUSTER_IDENTITY = "dlib"

_worker = None


def _init(settings: ExtractSettings) -> None:
    import torch

    from ..faces.detect import FaceDetector
    from ..faces.identity import identity_embedder

    global _worker
    torch.set_num_threads(1)
    _worker = (FaceDetector(detect_size=settings.detect_size, min_prob=settings.min_prob),
               identity_embedder(CLUSTER_IDENTITY, settings.margin, flip=False), settings)


def _faces_of(args: tuple[int, str, str]) -> tuple[int, str, list[list[float]], np.ndarray]:
    """(photo index, status, boxes, embeddings) for one photo; crops saved as STAGING/<index>_<k>.jpg."""
    from ..errors import ImageError
    from ..faces.align import crop_face
    from ..faces.detect import order_faces
    from ..io.fileio import save_image
    from ..io.images import load_image

    k, path, staging = args
    detector, embedder, settings = _worker
    try:
        img = load_image(path)
        faces = order_faces(detector.detect(img), img.size)
    except ImageError:
        return k, "unreadable", [], np.zeros((0, get_identity(CLUSTER_IDENTITY).dim), np.float32)
    crops = [crop_face(img, f.box, settings.margin, settings.size, settings.pad,
                       landmarks=f.landmarks if settings.align else None) for f in faces]
    for j, crop in enumerate(crops):
        save_image(crop, Path(staging) / f"{k}_{j}.jpg", quality=90)
    return k, "ok" if faces else "no_face", [[round(v, 1) for v in f.box] for f in faces], embedder.embed(crops)


def _stream(paths: Sequence[Path], staging: Path, workers: int, progress: bool) -> Iterator[tuple]:
    from ..runtime import progress_bar

    settings = ExtractSettings()
    args = [(k, str(p), str(staging)) for k, p in enumerate(paths)]
    bar = progress_bar(total=len(args), unit="photo", desc="faces", disable=not progress, dynamic_ncols=True)
    if workers == 1:
        _init(settings)
        results: Iterator = map(_faces_of, args)
        pool = None
    else:
        pool = mp.get_context("spawn").Pool(workers, initializer=_init, initargs=(settings,))
        results = pool.imap_unordered(_faces_of, args, chunksize=4)
    try:
        for res in results:
            bar.update(1)
            yield res
    finally:
        bar.close()
        if pool is not None:
            pool.terminate()


def embed_photos(paths: Sequence[Path], staging: Path, workers: Optional[int] = None, progress: bool = True
                 ) -> tuple[np.ndarray, list[tuple[int, int, list[float]]], dict[str, int]]:
    """Detect and embed every face of every photo, keeping only embeddings and boxes in memory.

    :param paths: photo files.
    :param staging: folder for the face crops (STAGING/<photo index>_<face index>.jpg).
    :param workers: processes (default: one per core).
    :param progress: show a progress bar.
    :returns: (N, dim) identity vectors, (photo index, face index, box) per face, counts of photo statuses.
    """
    staging.mkdir(parents=True, exist_ok=True)
    workers = max(1, min(workers or os.cpu_count() or 1, len(paths)))
    vecs, meta, status = [], [], {"ok": 0, "no_face": 0, "unreadable": 0}
    for k, st, boxes, emb in _stream(paths, staging, workers, progress):
        status[st] += 1
        vecs.append(emb)
        meta += [(k, j, b) for j, b in enumerate(boxes)]
    all_vecs = np.concatenate(vecs) if vecs else np.zeros((0, get_identity(CLUSTER_IDENTITY).dim), np.float32)
    return all_vecs, meta, status


def contact_sheet(crops: Sequence[Path], out: Path) -> None:
    """A PNG grid of up to SHEET_FACES face crops.

    :param crops: face crop files.
    :param out: the PNG to write.
    """
    from PIL import Image

    from ..io.fileio import save_image

    crops = list(crops)[:SHEET_FACES]
    cols = min(6, len(crops)) or 1
    rows = (len(crops) + cols - 1) // cols or 1
    sheet = Image.new("RGB", (cols * SHEET_PX, rows * SHEET_PX), "white")
    for i, p in enumerate(crops):
        with Image.open(p) as im:
            sheet.paste(im.convert("RGB").resize((SHEET_PX, SHEET_PX)), ((i % cols) * SHEET_PX, (i // cols) * SHEET_PX))
    save_image(sheet, out)


def cluster_photos(sources: Sequence[os.PathLike], out_dir: Path, namer: Optional[Namer] = None,
                   min_faces: int = 3, method: str = "chinese_whispers", distance: Optional[float] = None,
                   workers: Optional[int] = None, progress: bool = True, model: Optional[str] = None
                   ) -> ClusterIndex:
    """Cluster the faces of photos (files or folders) into CLUSTERS_DIR; returns the index it writes.

    :param sources: photo files and folders.
    :param out_dir: CLUSTERS_DIR; replaced as a whole (refused if it holds something other than clusters).
    :param namer: optional (face crops) -> (name, share) of a known person, e.g. from a model
        (celebface.recognition.cluster_names.cluster_namer); clusters it names are labelled.
    :param min_faces: the smallest cluster kept; faces in smaller ones are left out and counted.
    :param method: a method of celebface.data.clustering.METHODS.
    :param distance: the clustering cut / radius (cosine distance; default: the measured one for the method).
    :param workers: processes (default: one per core).
    :param progress: show a progress bar.
    :param model: what names the clusters, recorded in the index (e.g. the model folder).
    """
    from ..errors import shown
    from ..io.fileio import atomic_dir, not_a_file
    from ..io.sources import expand_paths

    start = time.time()
    if min_faces < 1:
        raise DataError("--min-faces must be at least 1")
    out_dir = Path(out_dir)
    if out_dir.exists() and any(out_dir.iterdir()) and not (out_dir / INDEX_NAME).exists():
        raise DataError(f"{out_dir} exists and is not a clusters folder: give --out a new or empty folder.")
    paths = expand_paths(sources)
    refused = [f"{shown(p)}: {not_a_file(p)}" for p in paths if not_a_file(p)]
    if refused:  # a FIFO given by name would block the worker reading it
        raise DataError("; ".join(refused))
    if not paths:
        raise DataError("no photos found in the given files and folders (jpg, png, webp, ...).")
    if method not in DEFAULT_DISTANCE:
        raise DataError(f"unknown clustering method {method!r}: use one of {', '.join(DEFAULT_DISTANCE)}")
    distance = DEFAULT_DISTANCE[method] if distance is None else distance
    with atomic_dir(out_dir) as tmp:
        vecs, meta, status = embed_photos(paths, tmp / STAGING, workers, progress)
        labels = cluster_vectors(vecs, method, min_faces, distance)
        clusters = _write_clusters(tmp, paths, meta, labels, namer)
        shutil.rmtree(tmp / STAGING)
        index = ClusterIndex(photos=len(paths), unreadable=status["unreadable"], photos_without_face=status["no_face"],
                             faces=len(meta), left_out=int((labels < 0).sum()), method=method, distance=distance,
                             min_faces=min_faces, model=model, clusters=clusters,
                             seconds=round(time.time() - start, 2))
        (tmp / INDEX_NAME).write_text(index.model_dump_json(indent=1), encoding="utf-8")
    return index


def _write_clusters(root: Path, paths: Sequence[Path], meta: list, labels: np.ndarray,
                    namer: Optional[Namer]) -> list[ClusterInfo]:
    clusters = []
    for c in range(int(labels.max(initial=-1)) + 1):
        cid = f"c{c + 1:03d}"
        folder = root / cid
        folder.mkdir()
        faces = []
        for i in np.nonzero(labels == c)[0]:
            k, j, box = meta[i]
            name = f"{Path(paths[k]).stem[:40]}_{k}_{j}.jpg"
            os.replace(root / STAGING / f"{k}_{j}.jpg", folder / name)
            faces.append(ClusterFace(photo=str(paths[k]), box=box, crop=name))
        contact_sheet([folder / f.crop for f in faces], folder / "contact_sheet.png")
        info = ClusterInfo(id=cid, size=len(faces), faces=faces)
        if namer is not None:
            info.name, info.name_score = namer([folder / f.crop for f in faces])
        clusters.append(info)
    return clusters


def majority_name(names: Sequence[Optional[str]]) -> tuple[Optional[str], Optional[float]]:
    """The name more than half of a cluster's faces were given, and that share (None when there is none).

    :param names: a name for each face (None or "unknown": unknown or too poor to name).
    """
    from collections import Counter

    from ..config import UNKNOWN

    if not names:
        return None, None
    name, count = Counter(names).most_common(1)[0]
    if name is None or name == UNKNOWN or count * 2 <= len(names):
        return None, None
    return name, round(count / len(names), 3)


def cluster_crops(cluster_dir: Path) -> list[Path]:
    """The face crops of one cluster folder (CLUSTERS_DIR/<id>), as listed in CLUSTERS_DIR/clusters.json.

    :param cluster_dir: the cluster's folder.
    """
    from ..io.fileio import read_json

    cluster_dir = Path(cluster_dir)
    index_path = cluster_dir.parent / INDEX_NAME
    if not index_path.exists():
        raise DataError(f"{cluster_dir} is not a cluster folder (no {INDEX_NAME} beside it): give "
                        f"CLUSTERS_DIR/<id> from `celebface cluster`.")
    index = ClusterIndex.model_validate(read_json(index_path))
    match = [c for c in index.clusters if c.id == cluster_dir.name]
    if not match:
        raise DataError(f"{cluster_dir.name} is not a cluster in {index_path}; clusters: "
                        f"{', '.join(c.id for c in index.clusters) or 'none'}")
    crops = [cluster_dir / f.crop for f in match[0].faces if f.crop and (cluster_dir / f.crop).exists()]
    if not crops:
        raise DataError(f"the face crops of {cluster_dir} are gone: run `celebface cluster` again.")
    return crops
