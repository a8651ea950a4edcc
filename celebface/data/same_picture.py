"""Photos that are one picture though cropped, resized or re-encoded, found by how they look as a whole.

Perceptual hashes miss cropped copies and face embeddings miss copies whose face was cut or not found. Here every
photo gets a "look": the ImageNet EfficientNet-Lite0 features of the whole photo (offline weights from a pip
package). Each photo's nearest looks are candidates; a candidate pair is confirmed when SIFT keypoints match under
one similarity transform (RANSAC; the mirror image is tried too) and, warped onto each other, the two photos
correlate almost perfectly. Two different photos of one person, even aligned face crops of one photo shoot,
correlate visibly less.

Measured on glint12 with 50 planted copies (bench/data.py): every planted pair correlated at >= 0.997 with 24 or more
inliers; different photos of a person among the candidates mostly at 0.80-0.90.
"""
from __future__ import annotations

import os
import threading
from collections import OrderedDict
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Optional, Sequence

import numpy as np

#: Side (pixels) of the square the whole photo is resized to for its look.
LOOK_SIZE = 224
#: Nearest looks of each photo checked as candidates, and the cosine similarity they need (a copy cut 10% into
#: the face on every side, resized to 60% and re-encoded at JPEG q60 was its original's nearest look at 0.65).
LOOK_NEIGHBOURS = 5
LOOK_MIN_SIMILARITY = 0.5
#: A pair is one picture with at least this many RANSAC inliers ...
MIN_INLIERS = 15
#: ... and at least this correlation of the overlapping parts once warped onto each other (blurred grey).
MIN_CORRELATION = 0.95
#: Photos are matched with their longer side scaled to this many pixels (small crops are upscaled).
MATCH_SIDE = 256
#: Keypoint sets kept in memory per process while pairs are checked.
FEATURE_CACHE = 2048


@dataclass(frozen=True)
class PictureFeatures:
    """A photo's grey copy at MATCH_SIDE, its SIFT keypoint positions and descriptors (uint8)."""

    grey: np.ndarray
    points: np.ndarray
    descriptors: np.ndarray


def look_pixels(img) -> np.ndarray:
    """A decoded photo as its look network sees it: the whole photo squeezed to LOOK_SIZE x LOOK_SIZE, uint8 RGB.

    :param img: an RGB PIL image (any size: a full decode or one at a reduced scale)"""
    from PIL import Image

    return np.asarray(img.resize((LOOK_SIZE, LOOK_SIZE), Image.BILINEAR), np.uint8)


class LookNet:
    """The look network: ImageNet EfficientNet-Lite0's pooled features (offline weights from a pip package)."""

    def __init__(self) -> None:
        import torch

        from ..faces.backbones import build_backbone

        net, _ = build_backbone("efficientnet_lite0", depth=0)
        self.net = net.eval().to(memory_format=torch.channels_last)

    def looks(self, pixels: Sequence[Optional[np.ndarray]]) -> np.ndarray:
        """Unit look vectors (N, 1280, float16) of look_pixels arrays; None (an unreadable photo) gives a zero
        vector, which never pairs.

        :param pixels: (LOOK_SIZE, LOOK_SIZE, 3) uint8 arrays, or None"""
        import torch

        out = np.zeros((len(pixels), 1280), np.float16)
        have = [i for i, p in enumerate(pixels) if p is not None]
        if not have:
            return out
        x = torch.from_numpy(np.stack([pixels[i] for i in have])).permute(0, 3, 1, 2).float().div(127.5).sub(1.0)
        with torch.inference_mode():
            vecs = self.net(x.contiguous(memory_format=torch.channels_last)).numpy()
        norms = np.linalg.norm(vecs, axis=1, keepdims=True)
        out[have] = np.where(norms > 0, vecs / np.maximum(norms, 1e-12), 0.0).astype(np.float16)
        return out


def _file_pixels(path: str) -> Optional[np.ndarray]:
    """look_pixels of a photo file (decoded at a reduced scale); None when it cannot be read."""
    from ..io.images import ImageError, load_image

    try:
        return look_pixels(load_image(path, max_side=2 * LOOK_SIZE))
    except ImageError:
        return None


def compute_looks(paths: Sequence[str], batch: int = 8, progress: bool = False) -> np.ndarray:
    """Unit look vectors (N, 1280, float16) of whole photos; an unreadable photo gets a zero vector.

    :param paths: photo files.
    :param batch: photos per forward pass.
    :param progress: show a progress bar.
    """
    from ..runtime import progress_bar

    if not len(paths):
        return np.zeros((0, 1280), np.float16)
    net = LookNet()
    out = [net.looks([_file_pixels(p) for p in paths[s:s + batch]])
           for s in progress_bar(range(0, len(paths), batch), desc="looks", disable=not progress, unit="batch")]
    return np.concatenate(out)


def _looks_cache(work_dir: Optional[Path]) -> Optional[Path]:
    return Path(work_dir) / "cache" / "photo_looks.npz" if work_dir else None


def _read_looks(cache_path: Optional[Path]) -> dict[str, np.ndarray]:
    """The cached looks by stat_key ({} when there is no readable cache)."""
    if not cache_path or not cache_path.exists():
        return {}
    try:
        with np.load(cache_path) as z:
            return dict(zip(z["keys"].tolist(), z["vecs"]))
    except (OSError, ValueError, KeyError):
        return {}


def _write_looks(cache_path: Path, cached: dict[str, np.ndarray]) -> None:
    from ..io.fileio import atomic_open

    with atomic_open(cache_path, "wb") as f:
        np.savez(f, keys=np.array(list(cached)), vecs=np.stack(list(cached.values())))


def remember_looks(work_dir: Path, looks: dict[str, np.ndarray]) -> None:
    """Add looks computed elsewhere (by prepare's extraction workers, from their own decode of each photo) to
    WORK_DIR's cache, so looks_for finds them.

    :param work_dir: the work folder
    :param looks: unit look vectors by the photo file's io.fileio.stat_key"""
    if looks:
        path = _looks_cache(work_dir)
        _write_looks(path, {**_read_looks(path), **looks})


def looks_for(paths: Sequence[Path], work_dir: Optional[Path] = None, progress: bool = False) -> np.ndarray:
    """Looks (N, 1280, float16: 2.5 KB a photo) of photo files, cached in WORK_DIR/cache/photo_looks.npz (by path,
    size, mtime) when given.

    :param paths: photo files.
    :param work_dir: optional folder whose cache/ keeps the looks across runs.
    :param progress: show a progress bar for new photos.
    """
    from ..io.fileio import stat_key

    keys = [stat_key(p) for p in paths]
    cache_path = _looks_cache(work_dir)
    cached = _read_looks(cache_path)
    todo = [i for i, k in enumerate(keys) if k not in cached]
    new = compute_looks([str(paths[i]) for i in todo], progress=progress)
    for i, v in zip(todo, new):
        cached[keys[i]] = v
    if cache_path and todo:
        _write_looks(cache_path, cached)
    return np.stack([cached[k] for k in keys]) if keys else np.zeros((0, 1280), np.float16)


def _top_k(rows: np.ndarray, looks: np.ndarray, start: int, k: int, block: int) -> tuple[np.ndarray, np.ndarray]:
    """Similarities and indices of the k nearest looks (self excluded) of `rows` (looks[start:start+len(rows)])."""
    best_s = np.full((len(rows), k), -np.inf, np.float32)
    best_i = np.zeros((len(rows), k), np.int64)
    own = np.arange(start, start + len(rows))
    for c in range(0, len(looks), block):
        sim = rows @ looks[c:c + block].astype(np.float32).T
        cols = np.arange(c, c + sim.shape[1])
        sim[own[:, None] == cols[None, :]] = -np.inf
        all_s = np.concatenate([best_s, sim], axis=1)
        all_i = np.concatenate([best_i, np.broadcast_to(cols, sim.shape)], axis=1)
        keep = np.argpartition(-all_s, k - 1, axis=1)[:, :k]
        best_s, best_i = np.take_along_axis(all_s, keep, 1), np.take_along_axis(all_i, keep, 1)
    return best_s, best_i


def look_candidates(looks: np.ndarray, neighbours: int = LOOK_NEIGHBOURS, min_similarity: float = LOOK_MIN_SIMILARITY,
                    block: int = 4096) -> set[tuple[int, int]]:
    """Pairs (i < j) where j is among i's nearest looks (or i among j's) with at least `min_similarity`.

    :param looks: (N, D) unit look vectors, any float dtype (zero rows never pair).
    :param neighbours: nearest looks per photo.
    :param min_similarity: the cosine similarity a candidate needs.
    :param block: rows and columns compared at once (memory stays bounded: block x block similarities).
    """
    n, out = len(looks), set()
    k = min(neighbours, n - 1)
    for s in range(0, n if k > 0 else 0, block):
        sims, idx = _top_k(looks[s:s + block].astype(np.float32), looks, s, k, block)
        for r, c in zip(*np.nonzero(sims >= min_similarity)):
            i, j = s + int(r), int(idx[r, c])
            out.add((min(i, j), max(i, j)))
    return out


def picture_features(path: str) -> Optional[PictureFeatures]:
    """SIFT keypoints of a photo at MATCH_SIDE (None if it cannot be read or has no keypoints).

    :param path: the photo file.
    """
    import cv2
    from PIL import Image

    from ..io.images import ImageError, load_image

    try:
        img = load_image(path, max_side=2 * MATCH_SIDE).convert("L")
    except ImageError:
        return None
    scale = MATCH_SIDE / max(img.size)
    img = img.resize((max(8, round(img.width * scale)), max(8, round(img.height * scale))), Image.BICUBIC)
    grey = np.asarray(img, np.uint8)
    kps, desc = cv2.SIFT_create(nfeatures=300).detectAndCompute(grey, None)
    if desc is None or len(kps) < 4:
        return None
    points = np.float32([k.pt for k in kps])
    return PictureFeatures(grey, points, np.clip(desc, 0, 255).astype(np.uint8))


@lru_cache(maxsize=1)
def _mirror_order() -> np.ndarray:
    """Where each value of a SIFT descriptor (4 x 4 cells x 8 orientations) comes from in the mirror image's
    descriptor of the same point: cell rows reversed, orientations negated (found by comparing OpenCV's
    descriptors of a photo and of its mirror image)."""
    order = np.empty(128, np.int64)
    for r in range(4):
        for c in range(4):
            for o in range(8):
                order[(r * 4 + c) * 8 + o] = ((3 - r) * 4 + c) * 8 + (-o) % 8
    return order


def mirror_features(f: PictureFeatures) -> PictureFeatures:
    """The features of a photo's mirror image, from its own (no second SIFT pass).

    :param f: a photo's features.
    """
    points = f.points.copy()
    points[:, 0] = f.grey.shape[1] - 1 - points[:, 0]
    return PictureFeatures(np.ascontiguousarray(f.grey[:, ::-1]), points, f.descriptors[:, _mirror_order()])


def _correlation(a: PictureFeatures, b: PictureFeatures, transform: np.ndarray) -> float:
    """Correlation of a's grey copy warped onto b with b, over the overlap (both blurred against JPEG noise)."""
    import cv2

    h, w = b.grey.shape
    warped = cv2.warpAffine(a.grey.astype(np.float32), transform, (w, h), flags=cv2.INTER_LINEAR)
    inside = cv2.warpAffine(np.ones(a.grey.shape, np.uint8), transform, (w, h), flags=cv2.INTER_NEAREST)
    inside = cv2.erode(inside, np.ones((5, 5), np.uint8)) > 0
    if inside.sum() < 0.2 * inside.size:  # too little overlap to say
        return 0.0
    x = cv2.GaussianBlur(warped, (0, 0), 2)[inside]
    y = cv2.GaussianBlur(b.grey.astype(np.float32), (0, 0), 2)[inside]
    x, y = x - x.mean(), y - y.mean()
    return float(x @ y / (np.linalg.norm(x) * np.linalg.norm(y) + 1e-6))


def match_pictures(a: PictureFeatures, b: PictureFeatures) -> tuple[int, float]:
    """(RANSAC inliers, correlation after warping) of two photos; (0, 0.0) when no transform fits.

    :param a: one photo's features.
    :param b: the other's.
    """
    import cv2

    knn = cv2.BFMatcher(cv2.NORM_L2).knnMatch(a.descriptors.astype(np.float32), b.descriptors.astype(np.float32), k=2)
    good = [m[0] for m in knn if len(m) == 2 and m[0].distance < 0.8 * m[1].distance]
    if len(good) < 4:
        return 0, 0.0
    src = a.points[[m.queryIdx for m in good]]
    dst = b.points[[m.trainIdx for m in good]]
    transform, inliers = cv2.estimateAffinePartial2D(src, dst, method=cv2.RANSAC, ransacReprojThreshold=4.0)
    if transform is None:
        return 0, 0.0
    n = int(inliers.sum())
    return n, (_correlation(a, b, transform) if n >= MIN_INLIERS else 0.0)


_FEATURES: "OrderedDict[str, Optional[PictureFeatures]]" = OrderedDict()
_FEATURES_LOCK = threading.Lock()  # the checking threads share one cache: each photo's keypoints are found once


def _features(path: str) -> Optional[PictureFeatures]:
    with _FEATURES_LOCK:
        if path in _FEATURES:
            _FEATURES.move_to_end(path)
            return _FEATURES[path]
    f = picture_features(path)  # outside the lock: OpenCV and the decoder release the GIL, threads overlap
    with _FEATURES_LOCK:
        _FEATURES[path] = f
        if len(_FEATURES) > FEATURE_CACHE:
            _FEATURES.popitem(last=False)
    return f


def _check_chunk(chunk: list[tuple[int, int, str, str]]) -> list[tuple[int, int, int, float]]:
    """(i, j, inliers, correlation) of each pair; the mirror image of j is tried when j itself does not match."""
    out = []
    for i, j, pa, pb in chunk:
        a, b = _features(pa), _features(pb)
        if a is None or b is None:
            continue
        n, c = match_pictures(a, b)
        if n < MIN_INLIERS:
            n, c = match_pictures(a, mirror_features(b))
        out.append((i, j, n, c))
    return out


def same_picture_pairs(paths: Sequence[os.PathLike], candidates: set[tuple[int, int]], workers: Optional[int] = None,
                       chunk: int = 64, progress: bool = False) -> dict[tuple[int, int], float]:
    """The candidate pairs confirmed to be one picture, with their correlation.

    :param paths: photo files (candidate indices refer to them).
    :param candidates: pairs (i < j) to check.
    :param workers: threads (default: one per core; pairs are split in chunks of nearby photos). Threads, not
        processes: decoding and OpenCV's SIFT and matching release the GIL, and the threads share one cache of
        keypoints, where each process found a photo's keypoints again (sports5's 1,292 look-alike pairs: 4.6 s
        with 2 threads, 6.4 s with 2 spawned processes).
    :param chunk: pairs per task.
    :param progress: show a progress bar (chunks of pairs checked).
    """
    from concurrent.futures import ThreadPoolExecutor

    from ..runtime import progress_bar

    todo = [(i, j, str(paths[i]), str(paths[j])) for i, j in sorted(candidates)]
    chunks = [todo[s:s + chunk] for s in range(0, len(todo), chunk)]
    workers = max(1, min(workers or os.cpu_count() or 1, len(chunks)))
    bar = dict(desc="matching look-alike photos", unit="chunk", total=len(chunks), disable=not progress)
    try:
        with ThreadPoolExecutor(workers) as pool:
            results = [r for rs in progress_bar(pool.map(_check_chunk, chunks), **bar) for r in rs]
    finally:
        with _FEATURES_LOCK:
            _FEATURES.clear()
    return {(i, j): round(c, 4) for i, j, n, c in results if n >= MIN_INLIERS and c >= MIN_CORRELATION}
