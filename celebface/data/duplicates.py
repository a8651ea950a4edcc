"""Exact and near-duplicate photos: file hashes, perceptual hashes of the whole photo, face-embedding distance,
and the whole photo's look confirmed by matching keypoints (`same_picture`).

A resized or re-encoded copy keeps the photo's perceptual hash (a few bits differ at most); a cropped copy
changes the hash but usually keeps the face, so its face embedding stays within a small distance of the original's.
A copy cropped into its face keeps neither; its whole look and its keypoints still match the original's.
Pairs found any way are joined into groups (union-find): every photo of a group is one source photo.
"""
from __future__ import annotations

import hashlib
import multiprocessing as mp
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Iterator, Optional, Sequence

import numpy as np
from PIL import Image

if TYPE_CHECKING:
    from .manifest import PhotoRecord

#: Whole-photo pHash and dHash (64 bits) both within this many bits: the same picture. Measured on 20 sports5
#: photos: resized (50%) and re-encoded (JPEG q40) copies differ by 0-2 bits; cropped copies by 15-30 (hence
#: the face rules below).
HASH_BITS = 8
#: Cosine distance between the chosen faces' dlib embeddings at or below which two photos are one picture. Of the
#: same-person pairs of sports5/glint12 at or below it, every one looked at was the same picture re-cropped;
#: between 0.018 and 0.03 they were different photos. Planted crops of sports5 photos: 89% at or below it.
FACE_DISTANCE = 0.012
#: ... or a face distance at or below FACE_DISTANCE_LOOSE with face crops whose pHash differs by at most
#: CROP_HASH_BITS (planted resized/re-encoded copies: median 4-6 bits; distinct photos at 0.02-0.03: median 24).
FACE_DISTANCE_LOOSE = 0.03
CROP_HASH_BITS = 8
#: Pairs are compared in blocks of this many rows (bounded memory on large sets).
BLOCK = 2048


@dataclass(frozen=True)
class PhotoHash:
    """The file hash and 64-bit perceptual hashes of one photo (None where the photo could not be read)."""

    sha256: str
    phash: Optional[int]
    dhash: Optional[int]


@dataclass(frozen=True)
class Pair:
    """Two photos (indices) found to be copies of one another and how: 'exact', 'hash' or 'face'."""

    a: int
    b: int
    how: str
    distance: float


def file_sha256(path: os.PathLike) -> str:
    """Hex SHA-256 of a file's bytes.

    :param path: the file.
    """
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def image_hashes(img: Image.Image) -> tuple[int, int]:
    """64-bit pHash and dHash of a photo as ints (imagehash, on a grey copy).

    :param img: an RGB PIL image.
    """
    import imagehash

    grey = img.convert("L")
    return int(str(imagehash.phash(grey)), 16), int(str(imagehash.dhash(grey)), 16)


def photo_hash(path: os.PathLike) -> PhotoHash:
    """The hashes of one photo file; an unreadable photo keeps its file hash only.

    :param path: the photo file.
    """
    from ..io.images import ImageError, load_image

    try:
        img = load_image(path)
    except ImageError:
        return PhotoHash(file_sha256(path), None, None)
    return decoded_photo_hash(path, img)


def decoded_photo_hash(path: os.PathLike, img: Image.Image) -> PhotoHash:
    """photo_hash of a photo already decoded (load_image(path), not at a reduced scale).

    :param path: the photo file (its bytes give the file hash)
    :param img: its decoded image (not changed)"""
    thumb = img.copy()
    thumb.thumbnail((512, 512))  # the hashes look at 32x32 / 9x8 copies: decoding smaller loses nothing
    return PhotoHash(file_sha256(path), *image_hashes(thumb))


def hash_files(paths: Sequence[os.PathLike], workers: Optional[int] = None) -> Iterator[PhotoHash]:
    """Hashes of many photos in `paths` order, over worker processes when there are many.

    :param paths: photo files.
    :param workers: processes (default: one per core).
    """
    paths = [str(p) for p in paths]
    workers = max(1, min(workers or os.cpu_count() or 1, len(paths) // 64 or 1))
    if workers == 1:
        yield from map(photo_hash, paths)
        return
    with mp.get_context("spawn").Pool(workers) as pool:
        yield from pool.imap(photo_hash, paths, chunksize=16)


def _bits(hashes: Sequence[int]) -> np.ndarray:
    arr = np.array([[(h >> k) & 1 for k in range(64)] for h in hashes], dtype=np.float32)
    return arr.reshape(-1, 64)


def hamming_pairs(hashes: Sequence[Optional[int]], max_bits: int) -> dict[tuple[int, int], int]:
    """Pairs (i < j) of 64-bit hashes that differ in at most `max_bits` bits, with their distance.

    :param hashes: one hash per photo; None (unreadable) never pairs.
    :param max_bits: the largest Hamming distance kept.
    """
    idx = [i for i, h in enumerate(hashes) if h is not None]
    bits = _bits([hashes[i] for i in idx])
    out: dict[tuple[int, int], int] = {}
    for s in range(0, len(idx), BLOCK):
        blk = bits[s:s + BLOCK]
        dist = blk @ (1.0 - bits).T + (1.0 - blk) @ bits.T
        for r, c in zip(*np.nonzero(dist <= max_bits)):
            i, j = idx[s + r], idx[c]
            if i < j:
                out[(i, j)] = int(dist[r, c])
    return out


def close_pairs(vecs: np.ndarray, max_distance: float, valid: Optional[np.ndarray] = None
                ) -> dict[tuple[int, int], float]:
    """Pairs (i < j) of unit vectors whose cosine distance is at most `max_distance`.

    :param vecs: (N, D) unit vectors (face embeddings).
    :param max_distance: the largest cosine distance kept.
    :param valid: optional (N,) bool mask; rows marked False never pair (photos without a face).
    """
    n = len(vecs)
    valid = np.ones(n, bool) if valid is None else np.asarray(valid, bool)
    out: dict[tuple[int, int], float] = {}
    for s in range(0, n, BLOCK):
        dist = 1.0 - vecs[s:s + BLOCK] @ vecs.T
        for r, c in zip(*np.nonzero(dist <= max_distance)):
            i, j = s + int(r), int(c)
            if i < j and valid[i] and valid[j]:
                out[(i, j)] = float(max(0.0, dist[r, c]))
    return out


class UnionFind:
    """Disjoint sets over 0..n-1 (path halving, union by size)."""

    def __init__(self, n: int) -> None:
        self.parent = list(range(n))
        self.size = [1] * n

    def find(self, i: int) -> int:
        while self.parent[i] != i:
            self.parent[i] = self.parent[self.parent[i]]
            i = self.parent[i]
        return i

    def union(self, i: int, j: int) -> None:
        a, b = self.find(i), self.find(j)
        if a == b:
            return
        if self.size[a] < self.size[b]:
            a, b = b, a
        self.parent[b] = a
        self.size[a] += self.size[b]

    def groups(self, min_size: int = 2) -> list[list[int]]:
        """The sets with at least `min_size` members, each sorted, ordered by their first member."""
        by_root: dict[int, list[int]] = {}
        for i in range(len(self.parent)):
            by_root.setdefault(self.find(i), []).append(i)
        return sorted((g for g in by_root.values() if len(g) >= min_size), key=lambda g: g[0])


def find_pairs(hashes: Sequence[PhotoHash], faces: Optional[np.ndarray] = None,
               has_face: Optional[np.ndarray] = None, hash_bits: int = HASH_BITS,
               face_distance: float = FACE_DISTANCE, crop_hashes: Optional[Sequence[Optional[int]]] = None
               ) -> list[Pair]:
    """Every pair of photos that are exact copies, near-copies by hash, or the same face capture.

    :param hashes: one PhotoHash per photo.
    :param faces: optional (N, 128) unit embeddings of each photo's chosen face.
    :param has_face: (N,) bool, which rows of `faces` are real faces.
    :param hash_bits: the pHash and dHash distance (bits) at or below which two photos are near-copies.
    :param face_distance: the face-embedding cosine distance at or below which two photos are near-copies.
    :param crop_hashes: optional pHash of each photo's chosen face crop (None: no face), for the looser face rule.
    """
    pairs: dict[tuple[int, int], Pair] = {}
    if faces is not None and len(faces):
        loose = FACE_DISTANCE_LOOSE if crop_hashes is not None else face_distance
        for (i, j), d in close_pairs(faces, max(face_distance, loose), has_face).items():
            if d <= face_distance or _bits_apart(crop_hashes[i], crop_hashes[j]) <= CROP_HASH_BITS:
                pairs[(i, j)] = Pair(i, j, "face", round(d, 4))
    ph = hamming_pairs([h.phash for h in hashes], hash_bits)
    dh = hamming_pairs([h.dhash for h in hashes], hash_bits)
    for key in ph.keys() & dh.keys():
        pairs[key] = Pair(*key, "hash", float(max(ph[key], dh[key])))
    by_sha: dict[str, list[int]] = {}
    for i, h in enumerate(hashes):
        by_sha.setdefault(h.sha256, []).append(i)
    for members in by_sha.values():
        for j in members[1:]:
            pairs[(members[0], j)] = Pair(members[0], j, "exact", 0.0)
    return sorted(pairs.values(), key=lambda p: (p.a, p.b))


def _bits_apart(a: Optional[int], b: Optional[int]) -> int:
    return 64 if a is None or b is None else bin(a ^ b).count("1")


def crop_phashes(crops: Sequence[Optional[Path]]) -> list[Optional[int]]:
    """pHash of each face crop file (None where there is no crop).

    :param crops: face crop files, or None.
    """
    import imagehash

    out: list[Optional[int]] = []
    for c in crops:
        if c is None:
            out.append(None)
            continue
        with Image.open(c) as im:
            out.append(int(str(imagehash.phash(im.convert("L"))), 16))
    return out


def add_same_pictures(pairs: Sequence[Pair], paths: Sequence[Path], work_dir: Optional[Path] = None,
                      workers: Optional[int] = None, progress: bool = False) -> list[Pair]:
    """`pairs` plus the pairs of photos found to be one picture by their whole look (see `same_picture`), for
    photos not already joined by a chain of pairs.

    :param pairs: the pairs found by hashes and faces.
    :param paths: the photo files (pair indices refer to them).
    :param work_dir: optional folder whose cache/ keeps the looks across runs.
    :param workers: processes for checking candidate pairs.
    :param progress: show progress bars.
    """
    from .same_picture import look_candidates, looks_for, same_picture_pairs

    if len(paths) < 2:
        return list(pairs)
    uf = UnionFind(len(paths))
    for p in pairs:
        uf.union(p.a, p.b)
    candidates = {(i, j) for i, j in look_candidates(looks_for(paths, work_dir, progress)) if uf.find(i) != uf.find(j)}
    found = same_picture_pairs(paths, candidates, workers, progress=progress)
    extra = [Pair(i, j, "picture", round(1.0 - c, 4)) for (i, j), c in found.items()]
    return sorted([*pairs, *extra], key=lambda p: (p.a, p.b))


def group_pairs(n: int, pairs: Sequence[Pair]) -> list[list[int]]:
    """Groups (sorted index lists, size >= 2) of photos joined by any chain of pairs.

    :param n: the number of photos.
    :param pairs: the pairs found.
    """
    uf = UnionFind(n)
    for p in pairs:
        uf.union(p.a, p.b)
    return uf.groups()


def _hash_cache(work_dir: Optional[Path]) -> Optional[Path]:
    return Path(work_dir) / "cache" / "photo_hashes.json" if work_dir else None


def _read_hashes(cache_path: Optional[Path]) -> dict[str, list]:
    """The cached hashes by stat_key ({} when there is no readable cache)."""
    from ..io.fileio import read_json

    if not cache_path or not cache_path.exists():
        return {}
    try:
        return read_json(cache_path)
    except (OSError, ValueError):
        return {}


def remember_hashes(work_dir: Path, hashes: dict[str, PhotoHash]) -> None:
    """Add hashes computed elsewhere (by prepare's extraction workers, from their own decode of each photo) to
    WORK_DIR's cache, so hashes_for finds them.

    :param work_dir: the work folder
    :param hashes: each photo's hashes by its file's io.fileio.stat_key"""
    from ..io.fileio import write_json

    if hashes:
        path = _hash_cache(work_dir)
        write_json(path, {**_read_hashes(path), **{k: [h.sha256, h.phash, h.dhash] for k, h in hashes.items()}})


def hashes_for(paths: Sequence[Path], work_dir: Optional[Path] = None, workers: Optional[int] = None
               ) -> list[PhotoHash]:
    """Hashes of photo files, cached in WORK_DIR/cache/photo_hashes.json (by path, size, mtime) when given.

    :param paths: photo files.
    :param work_dir: optional folder whose cache/ keeps the hashes across runs.
    :param workers: processes for new photos.
    """
    from ..io.fileio import stat_key, write_json

    cache_path = _hash_cache(work_dir)
    cache = _read_hashes(cache_path)
    keys = [stat_key(p) for p in paths]
    todo = [i for i, k in enumerate(keys) if k not in cache]
    for i, h in zip(todo, hash_files([paths[i] for i in todo], workers)):
        cache[keys[i]] = [h.sha256, h.phash, h.dhash]
    if cache_path and todo:
        write_json(cache_path, cache)
    return [PhotoHash(*cache[k]) for k in keys]


def near_duplicate_groups(data_dir: Path, records: Sequence["PhotoRecord"], work_dir: Path, workers: Optional[int] = None
                          ) -> list[list[str]]:
    """Groups of photo files (relative to DATA_DIR) that are copies of one another, for a group split.

    :param data_dir: the data set.
    :param records: manifest records, each with a chosen face.
    :param work_dir: WORK_DIR (its cached embeddings and hashes are used and extended).
    :param workers: processes for hashing new photos.
    """
    from .embedding_cache import cached_embeddings

    if not records:
        return []
    crops = [r.chosen_crop for r in records]
    vecs = cached_embeddings(work_dir, crops, progress=False)
    hashes = hashes_for([Path(data_dir) / r.file for r in records], work_dir, workers)
    crop_hashes = crop_phashes([Path(work_dir) / c for c in crops])
    pairs = find_pairs(hashes, vecs, crop_hashes=crop_hashes)
    pairs = add_same_pictures(pairs, [Path(data_dir) / r.file for r in records], work_dir, workers)
    groups = group_pairs(len(records), pairs)
    return [[records[i].file for i in g] for g in groups]
