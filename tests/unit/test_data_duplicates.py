"""Near-duplicate finding on synthetic images and vectors (no datasets, no models)."""
from __future__ import annotations

import io

import numpy as np
from PIL import Image, ImageDraw

from celebface.data.duplicates import (PhotoHash, UnionFind, close_pairs, find_pairs, group_pairs, hamming_pairs,
                                       image_hashes)


def _picture(seed: int, size: int = 320) -> Image.Image:
    rng = np.random.default_rng(seed)
    img = Image.new("RGB", (size, size), tuple(int(v) for v in rng.integers(0, 255, 3)))
    draw = ImageDraw.Draw(img)
    for _ in range(12):
        x, y = rng.integers(0, size, 2)
        r = int(rng.integers(20, 90))
        colour = tuple(int(v) for v in rng.integers(0, 255, 3))
        draw.ellipse([int(x) - r, int(y) - r, int(x) + r, int(y) + r], fill=colour)
    return img


def _reencode(img: Image.Image, quality: int) -> Image.Image:
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=quality)
    return Image.open(io.BytesIO(buf.getvalue())).convert("RGB")


def _ham(a: int, b: int) -> int:
    return bin(a ^ b).count("1")


def test_resized_and_reencoded_copies_keep_their_hash_and_other_pictures_do_not():
    pics = [_picture(s) for s in range(8)]
    orig = [image_hashes(p) for p in pics]
    for p, (ph, dh) in zip(pics, orig):
        for copy in (p.resize((160, 160), Image.BICUBIC), _reencode(p, 35)):
            cp, cd = image_hashes(copy)
            assert _ham(ph, cp) <= 6 and _ham(dh, cd) <= 6
    others = [max(_ham(a[0], b[0]), _ham(a[1], b[1])) for i, a in enumerate(orig) for b in orig[i + 1:]]
    assert min(others) > 10


def test_hamming_pairs_matches_a_direct_count_and_skips_unreadable():
    rng = np.random.default_rng(1)
    hashes = [int(v) for v in rng.integers(0, 2 ** 63, 30, dtype=np.int64)]
    hashes[5] = hashes[3] ^ 0b1011  # 3 bits apart
    hashes[7] = None
    found = hamming_pairs(hashes, 3)
    assert found[(3, 5)] == 3
    for (i, j), d in found.items():
        assert i < j and d == _ham(hashes[i], hashes[j]) <= 3
    assert all(7 not in key for key in found)


def test_close_pairs_and_mask():
    rng = np.random.default_rng(2)
    v = rng.normal(size=(10, 16)).astype(np.float32)
    v[4] = v[2] + 0.01 * rng.normal(size=16)
    v /= np.linalg.norm(v, axis=1, keepdims=True)
    assert set(close_pairs(v, 0.01)) == {(2, 4)}
    mask = np.ones(10, bool)
    mask[4] = False
    assert close_pairs(v, 0.01, mask) == {}


def test_union_find_joins_chains():
    uf = UnionFind(7)
    for a, b in [(0, 3), (3, 5), (1, 6)]:
        uf.union(a, b)
    assert uf.groups() == [[0, 3, 5], [1, 6]]
    assert uf.find(5) == uf.find(0) and uf.find(2) != uf.find(0)


def test_find_pairs_groups_exact_hash_and_face_copies():
    hashes = [PhotoHash("a", 0, 0), PhotoHash("a", 0, 0), PhotoHash("b", 0b111, 0b11),
              PhotoHash("c", 2 ** 40 - 1, 2 ** 40 - 1), PhotoHash("d", None, None),
              PhotoHash("e", 2 ** 62 - 1, 2 ** 50 - 1)]
    faces = np.eye(6, 4, dtype=np.float32)
    faces[5] = faces[3]  # same face capture, different hash
    has_face = np.array([1, 1, 1, 1, 0, 1], bool)
    pairs = find_pairs(hashes, faces, has_face, hash_bits=4, face_distance=0.01)
    how = {(p.a, p.b): p.how for p in pairs}
    assert how[(0, 1)] == "exact" and how[(0, 2)] == "hash" and how[(3, 5)] == "face"
    assert group_pairs(6, pairs) == [[0, 1, 2], [3, 5]]


def test_loose_face_rule_needs_matching_face_crops():
    hashes = [PhotoHash(str(i), 2 ** (10 * i) - 1, 2 ** (10 * i) - 1) for i in range(1, 4)]
    faces = np.array([[1.0, 0.0], [0.98, np.sqrt(1 - 0.98 ** 2)], [0.98, -np.sqrt(1 - 0.98 ** 2)]], np.float32)
    # 0-1 and 0-2 are 0.02 apart (above FACE_DISTANCE, within FACE_DISTANCE_LOOSE); only 0-1 share a face crop
    pairs = find_pairs(hashes, faces, np.ones(3, bool), crop_hashes=[0b1111, 0b0111, 2 ** 60 - 1])
    assert [(p.a, p.b, p.how) for p in pairs] == [(0, 1, "face")]
    assert find_pairs(hashes, faces, np.ones(3, bool)) == []
