"""`celebface check`: what is wrong with a data set before training on it.

Finds unreadable photos, photos with no face or several faces, exact and near-duplicate photos (within a
person and across people), faces that do not match the rest of their folder (likely mislabelled, with the
best matching other person), tiny faces and classes too small to split. Re-uses `prepare`'s WORK_DIR
(manifest.jsonl, cached dlib embeddings) when given one; otherwise detects and embeds into REPORT_DIR/work.
"""
from __future__ import annotations

import time
from collections import Counter
from pathlib import Path
from typing import Optional

import numpy as np
from ..config import ExtractSettings
from ..errors import DataError
from ..io.sources import list_photos
from .check_models import CheckReport, DuplicateGroup, DuplicatePair, Mislabel, PersonCount, PhotoIssue, TinyFace
from .duplicates import (FACE_DISTANCE, HASH_BITS, Pair, add_same_pictures, crop_phashes, find_pairs, group_pairs,
                         hashes_for)
from .manifest import PhotoRecord
from .mislabels import MISLABEL_DISTANCE, OTHER_DISTANCE, OTHER_FACE_DISTANCE, find_mislabels

#: A chosen face whose box is narrower than this (pixels in the photo) is reported as tiny: dlib and the
#: CNN backbones upscale it several times, so it carries little detail.
TINY_FACE_PX = 40


def check(data_dir: Path, out_dir: Path, work_dir: Optional[Path] = None, workers: Optional[int] = None,
          progress: bool = True, write: bool = True) -> CheckReport:
    """Check a data set laid out DATA_DIR/<Person>/<photos>; write OUT_DIR/report.html and report.json.

    :param data_dir: the data set.
    :param out_dir: where the report goes (must be outside DATA_DIR).
    :param work_dir: a `prepare` WORK_DIR to re-use (its manifest and embeddings); default OUT_DIR/work.
    :param workers: processes for detection, embedding and hashing (default: one per core).
    :param progress: show progress bars.
    :param write: write the HTML and JSON files (False: only return the report).
    """
    from .extract import extract_faces
    from .select import choose_faces

    start = time.time()
    data_dir, out_dir = Path(data_dir).resolve(), Path(out_dir).resolve()
    if out_dir == data_dir or data_dir in out_dir.parents:
        raise DataError("the report folder must be outside DATA_DIR (otherwise its thumbnails would be read as "
                        "photos): give --out a folder elsewhere.")
    work_dir = Path(work_dir).resolve() if work_dir else out_dir / "work"
    jobs = list_photos(data_dir)
    records = extract_faces(jobs, work_dir, ExtractSettings(), workers, progress)
    if any(r.faces for r in records):
        choose_faces(records, work_dir, progress=progress)
    vecs, has_face = _chosen_embeddings(records, work_dir, progress)
    paths = [Path(j.path) for j in jobs]
    hashes = hashes_for(paths, work_dir, workers)
    crops = [work_dir / r.chosen_crop if r.chosen is not None else None for r in records]
    pairs = find_pairs(hashes, vecs, has_face, crop_hashes=crop_phashes(crops))
    pairs = add_same_pictures(pairs, paths, work_dir, workers, progress)
    groups = group_pairs(len(records), pairs)
    report = _assemble(data_dir, records, pairs, groups, vecs, has_face, _other_faces(records, work_dir))
    report.seconds = round(time.time() - start, 2)
    if write:
        from .check_report import write_report

        write_report(report, data_dir, out_dir)
    return report


def _chosen_embeddings(records: list[PhotoRecord], work_dir: Path, progress: bool) -> tuple[np.ndarray, np.ndarray]:
    from .embedding_cache import cached_embeddings

    has_face = np.array([r.chosen is not None for r in records], bool)
    crops = [r.chosen_crop for r in records if r.chosen is not None]
    emb = cached_embeddings(work_dir, crops, progress)
    vecs = np.zeros((len(records), emb.shape[1] if len(emb) else 128), np.float32)
    vecs[has_face] = emb
    return vecs, has_face


def _other_faces(records: list[PhotoRecord], work_dir: Path) -> dict[int, np.ndarray]:
    """Embeddings of the faces not chosen in each multi-face photo, by photo index (cached by `choose_faces`)."""
    from .embedding_cache import cached_embeddings

    multi = {i: [f.crop for k, f in enumerate(r.faces) if k != r.chosen] for i, r in enumerate(records)
             if r.chosen is not None and len(r.faces) > 1}
    crops = [c for cs in multi.values() for c in cs]
    emb = dict(zip(crops, cached_embeddings(work_dir, crops, progress=False))) if crops else {}
    return {i: np.stack([emb[c] for c in cs]) for i, cs in multi.items()}


def _assemble(data_dir: Path, records: list[PhotoRecord], pairs: list[Pair], groups: list[list[int]],
              vecs: np.ndarray, has_face: np.ndarray, other_faces: Optional[dict[int, np.ndarray]] = None
              ) -> CheckReport:
    def issue(r: dict, detail: str = "") -> PhotoIssue:
        return PhotoIssue(file=r.file, person=r.person, detail=detail)

    persons = [r.person for r in records]
    dup_groups = _duplicate_groups(records, pairs, groups)
    group_of = {i: g[0] for g in groups for i in g}
    mislabels = find_mislabels(vecs, has_face, persons, group_of, other_faces=other_faces)
    tiny = []
    for r in records:
        if r.chosen is not None:
            x1, y1, x2, y2 = r.chosen_face.box
            side = int(round(min(x2 - x1, y2 - y1)))
            if side < TINY_FACE_PX:
                tiny.append(TinyFace(file=r.file, person=r.person, face_px=side))
    people = _person_counts(records, has_face, group_of)
    return CheckReport(
        data_dir=str(data_dir), photos=len(records), people=people,
        unreadable=[issue(r, r.error or "") for r in records if r.status == "unreadable"],
        no_face=[issue(r) for r in records if r.status == "no_face"],
        several_faces=[issue(r, f"{r.n_faces or len(r.faces)} faces") for r in records
                       if r.status == "several_faces"],
        duplicate_groups=dup_groups,
        mislabelled=[Mislabel(file=records[m.index].file, person=persons[m.index],
                              distance_own=m.distance_own, best_other=m.best_other,
                              distance_other=m.distance_other) for m in mislabels],
        tiny_faces=tiny, too_small=sorted(p for p, c in people.items() if c.distinct < 2),
        settings={"hash_bits": HASH_BITS, "face_distance": FACE_DISTANCE, "mislabel_distance": MISLABEL_DISTANCE,
                  "other_distance": OTHER_DISTANCE, "other_face_distance": OTHER_FACE_DISTANCE,
                  "tiny_face_px": TINY_FACE_PX},
        seconds=0.0)


def _duplicate_groups(records: list[PhotoRecord], pairs: list[Pair], groups: list[list[int]]) -> list[DuplicateGroup]:
    group_of = {i: k for k, g in enumerate(groups) for i in g}
    pairs_of: dict[int, list[DuplicatePair]] = {}
    for p in pairs:
        pairs_of.setdefault(group_of[p.a], []).append(
            DuplicatePair(a=records[p.a].file, b=records[p.b].file, how=p.how, distance=p.distance))
    out = []
    for k, g in enumerate(groups):
        people = sorted({records[i].person for i in g})
        exact = all(p.how == "exact" for p in pairs_of[k]) and len(pairs_of[k]) == len(g) - 1
        out.append(DuplicateGroup(files=[records[i].file for i in g], people=people,
                                  across_people=len(people) > 1, exact=exact, pairs=pairs_of[k]))
    return out


def _person_counts(records: list[PhotoRecord], has_face: np.ndarray, group_of: dict[int, int]) -> dict[str, PersonCount]:
    photos = Counter(r.person for r in records)
    usable = Counter(r.person for r, f in zip(records, has_face) if f)
    distinct: dict[str, set] = {}
    for i, (r, f) in enumerate(zip(records, has_face)):
        if f:
            distinct.setdefault(r.person, set()).add(group_of.get(i, i))
    return {p: PersonCount(photos=photos[p], usable=usable[p], distinct=len(distinct.get(p, ())))
            for p in sorted(photos)}


def print_table(report: CheckReport) -> str:
    """The short table `celebface check` prints (also returned as text).

    :param report: a CheckReport.
    """
    lines = [f"{'person':<28}{'photos':>8}{'usable':>8}{'distinct':>9}"]
    for p, c in report.people.items():
        lines.append(f"{p[:27]:<28}{c.photos:>8}{c.usable:>8}{c.distinct:>9}")
    lines.append("")
    lines += [f"{k:<40}{v:>8}" for k, v in report.counts().items()]
    lines.append(f"{'seconds':<40}{report.seconds:>8.1f}")
    return "\n".join(lines)
