"""Step 1 of `prepare`: find the faces in every photo of DATA_DIR/<Person>/ and save square crops.

Runs in worker processes (one MTCNN each), streams one JSON line per photo to WORK_DIR/manifest.jsonl as it
goes, and reuses the lines of photos already done with the same settings when run again.
"""
from __future__ import annotations

import hashlib
import json
import multiprocessing as mp
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterable, Iterator, Optional

import numpy as np

from ..config import ExtractSettings
from ..errors import ImageError
from ..faces.align import crop_face
from ..faces.detect import FaceDetector, order_faces
from ..io.fileio import atomic_open, save_image
from ..io.images import load_image
from ..io.sources import PhotoJob
from ..types import Face
from .duplicates import PhotoHash
from .manifest import FaceCrop, PhotoRecord, read_records

if TYPE_CHECKING:
    from PIL import Image

#: At most this many faces of one photo are kept as candidates for the person's face.
MAX_CANDIDATES = 4


def photo_id(job: PhotoJob) -> str:
    stem = re.sub(r"[^A-Za-z0-9_-]+", "_", Path(job.file).stem)[:40]
    return f"{stem}_{hashlib.sha1(job.file.encode()).hexdigest()[:8]}"


@dataclass(frozen=True)
class PhotoExtras:
    """What the near-duplicate search of `prepare` needs of a photo (duplicates.py, same_picture.py), computed by
    the extraction worker from the decode it made anyway instead of decoding every photo twice more."""

    key: str  # io.fileio.stat_key of the photo file: the caches' key
    hash: PhotoHash
    look: np.ndarray  # unit look vector (1280,) float16


_detector: Optional[FaceDetector] = None
_look_net = None  # same_picture.LookNet, in workers asked for extras


def _init_worker(settings: ExtractSettings, threads: int, extras: bool = False) -> None:
    import torch

    global _detector, _look_net
    torch.set_num_threads(threads)
    _detector = FaceDetector(detect_size=settings.detect_size, min_prob=settings.min_prob)
    if extras:
        from .same_picture import LookNet

        _look_net = LookNet()


def _photo_extras(job: PhotoJob, img: "Image.Image") -> PhotoExtras:
    from ..io.fileio import stat_key
    from .duplicates import decoded_photo_hash
    from .same_picture import look_pixels

    assert _look_net is not None
    return PhotoExtras(stat_key(job.path), decoded_photo_hash(job.path, img), _look_net.looks([look_pixels(img)])[0])


def _extract_with_extras(args: tuple) -> tuple[PhotoRecord, Optional[PhotoExtras]]:
    """_extract_one, and the photo's PhotoExtras when faces were found (photos without one are never grouped)."""
    seen: list = []
    rec = _extract_one(args, seen.append)
    return rec, (_photo_extras(args[0], seen[0]) if seen and rec.faces else None)


def _extract_one(args: tuple, decoded: Optional[Callable] = None) -> PhotoRecord:
    """(job, work_dir, settings[, previous record]) -> the photo's record; with a previous record of the same photo
    and detector settings, its faces are cropped again without detecting them again.

    :param decoded: called with the decoded photo (for more work on the same decode)"""
    job, work_dir, settings, *previous = args
    rec = PhotoRecord(job.file, job.person, job.bytes, job.mtime_ns, settings.key())
    try:
        img = load_image(job.path)
    except ImageError as exc:
        rec.status, rec.error = "unreadable", str(exc)
        return rec
    if decoded is not None:
        decoded(img)
    rec.width, rec.height = img.size
    if previous and previous[0] is not None:
        faces = [Face(f.box, f.prob, f.landmarks) for f in previous[0].faces]
    else:
        try:
            assert _detector is not None
            faces = order_faces(_detector.detect(img), img.size)
        except Exception as exc:  # a detector failure on one odd photo must not stop the run
            rec.status, rec.error = "unreadable", f"face detection failed: {type(exc).__name__}: {exc}"
            return rec
    if not faces:
        rec.status = "no_face"
        return rec
    rec.status = "ok" if len(faces) == 1 else "several_faces"
    pid = photo_id(job)
    for k, face in enumerate(faces[:MAX_CANDIDATES]):
        crop_rel = f"faces/{job.person}/{pid}_f{k}.jpg"
        crop = crop_face(img, face.box, settings.margin, settings.size, settings.pad,
                         landmarks=face.landmarks if settings.align else None)
        save_image(crop, Path(work_dir) / crop_rel)
        rec.faces.append(FaceCrop(face.box, face.prob, face.landmarks, crop_rel))
    rec.n_faces = max(len(faces), previous[0].n_faces if previous and previous[0] is not None else 0)
    rec.chosen, rec.chosen_by = 0, "main_face"
    return rec


def _same_detection(rec: PhotoRecord, job: PhotoJob, settings: ExtractSettings) -> bool:
    """The photo is unchanged and was detected with the same detector settings (only the crops differ)."""
    detect = f"-d{settings.detect_size}-p{settings.min_prob}"
    return (rec.bytes == job.bytes and rec.mtime_ns == job.mtime_ns and rec.status in ("ok", "several_faces")
            and (rec.settings.endswith(detect) or detect + "-" in rec.settings))


def _reusable(rec: PhotoRecord, job: PhotoJob, settings: ExtractSettings, work_dir: Path) -> bool:
    return (rec.bytes == job.bytes and rec.mtime_ns == job.mtime_ns and rec.settings == settings.key()
            and all((work_dir / f.crop).exists() for f in rec.faces))


#: Runs the per-photo work: (list of (job, work_dir, settings), workers) -> records as they finish, any order.
Runner = Callable[[list, int], Iterable[PhotoRecord]]


def extract_faces(jobs: list[PhotoJob], work_dir: Path, settings: ExtractSettings = ExtractSettings(),
                  workers: Optional[int] = None, progress: bool = True, runner: Optional[Runner] = None,
                  extras: bool = False) -> list[PhotoRecord]:
    """Detect and crop the faces of every photo; returns one record per photo in `jobs` order.

    :param runner: where the per-photo work runs (default: this machine's worker processes; celebface.scale
        passes a Ray Data actor pool)
    :param extras: the local workers also hash each photo with faces and compute its look, from the same decode,
        into WORK_DIR's caches for the near-duplicate search (`prepare`; see PhotoExtras)
    """
    from ..runtime import progress_bar

    work_dir = Path(work_dir)
    work_dir.mkdir(parents=True, exist_ok=True)
    log_path = work_dir / "manifest.jsonl"
    old = read_records(log_path)
    done = {j.file: old[j.file] for j in jobs if j.file in old and _reusable(old[j.file], j, settings, work_dir)}
    todo = [j for j in jobs if j.file not in done]
    # Rewrite the log with only what is reused, then append new lines as photos finish.
    with atomic_open(log_path) as f:
        for rec in done.values():
            f.write(json.dumps(rec.to_dict()) + "\n")
    workers = max(1, min(workers or os.cpu_count() or 1, len(todo) or 1))
    bar = progress_bar(total=len(todo), unit="photo", desc="faces", disable=not progress or not todo,
               dynamic_ncols=True)
    bar.set_postfix(reused=len(done))
    # Photos whose crops alone changed (margin, size, padding) are cropped again from their stored boxes.
    args = [(j, str(work_dir), settings, old[j.file] if j.file in old and _same_detection(old[j.file], j, settings)
             else None) for j in todo]
    found: list[PhotoExtras] = []
    results = runner(args, workers) if runner else _run(args, workers, extras)
    with open(log_path, "a", encoding="utf-8") as log:
        for item in results:
            rec, more = item if isinstance(item, tuple) else (item, None)
            if more is not None:
                found.append(more)
            done[rec.file] = rec
            log.write(json.dumps(rec.to_dict()) + "\n")
            log.flush()
            bar.update(1)
    bar.close()
    _remember(work_dir, found)
    return [done[j.file] for j in jobs]


def _remember(work_dir: Path, found: list[PhotoExtras]) -> None:
    """The workers' hashes and looks into WORK_DIR's caches (duplicates.hashes_for, same_picture.looks_for)."""
    from .duplicates import remember_hashes
    from .same_picture import remember_looks

    if found:
        remember_hashes(work_dir, {e.key: e.hash for e in found})
        remember_looks(work_dir, {e.key: e.look for e in found})


def _run(args: list, workers: int, extras: bool = False) -> Iterable:
    if not args:
        return iter(())
    if workers == 1:
        return _run_here(args, extras)
    return _run_pool(args, workers, extras)


def _run_here(args: list, extras: bool = False) -> Iterator:
    import torch

    _init_worker(args[0][2], torch.get_num_threads(), extras)
    for a in args:
        yield _extract_with_extras(a) if extras else _extract_one(a)


def _run_pool(args: list, workers: int, extras: bool = False) -> Iterator:
    ctx = mp.get_context("spawn")  # safe beside an already-threaded torch in the parent
    with ctx.Pool(workers, initializer=_init_worker, initargs=(args[0][2], 1, extras)) as pool:
        yield from pool.imap_unordered(_extract_with_extras if extras else _extract_one, args, chunksize=1)
