"""One picture though cropped into the face: whole-photo looks and keypoint matching on real glint12 photos."""
from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from conftest import DATASETS

GLINT = DATASETS / "glint12"


def _copy(src: Path, dst: Path, box: tuple[float, float, float, float], scale: float, quality: int) -> Path:
    """A copy cropped to `box` (fractions of the photo), resized by `scale` and re-encoded at `quality`."""
    img = Image.open(src).convert("RGB")
    w, h = img.size
    img = img.crop((int(box[0] * w), int(box[1] * h), int(box[2] * w), int(box[3] * h)))
    img = img.resize((int(img.width * scale), int(img.height * scale)), Image.BICUBIC)
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=quality)
    dst.write_bytes(buf.getvalue())
    return dst


@pytest.fixture(scope="module")
def photos(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """Ten photos of one person and of another, plus two copies cropped into the face (one filed elsewhere)."""
    if not GLINT.is_dir():
        pytest.skip(f"sample data not found at {GLINT}")
    out = tmp_path_factory.mktemp("same_picture")
    obama = sorted((GLINT / "Barack_Obama").iterdir())[:10]
    drew = sorted((GLINT / "Drew_Barrymore").iterdir())[:10]
    copies = [_copy(obama[3], out / "obama_3_cropped.jpg", (0.11, 0.09, 0.9, 0.88), 0.6, 60),
              _copy(drew[5], out / "drew_5_cropped.jpg", (0.12, 0.0, 0.95, 0.9), 0.8, 45)]
    return {"paths": [*obama, *drew, *copies], "planted": {(3, 20), (15, 21)}}


def test_a_copy_cut_into_the_face_matches_its_original_and_not_other_photos_of_the_person(photos):
    from celebface.data.same_picture import MIN_CORRELATION, MIN_INLIERS, match_pictures, picture_features

    paths = photos["paths"]
    copy, original = picture_features(str(paths[20])), picture_features(str(paths[3]))
    inliers, corr = match_pictures(copy, original)
    assert inliers >= MIN_INLIERS and corr >= MIN_CORRELATION, (inliers, corr)
    for other in (0, 1, 2, 4, 5):  # other photos of the same man, aligned the same way
        inliers, corr = match_pictures(copy, picture_features(str(paths[other])))
        assert inliers < MIN_INLIERS or corr < MIN_CORRELATION, (other, inliers, corr)


def test_a_mirrored_copy_matches_through_its_mirror_image(photos, tmp_path):
    from celebface.data.same_picture import MIN_CORRELATION, MIN_INLIERS, _check_chunk, match_pictures, picture_features

    original = photos["paths"][6]
    mirrored = tmp_path / "mirrored.jpg"
    Image.open(original).convert("RGB").transpose(Image.FLIP_LEFT_RIGHT).rotate(5).save(mirrored, quality=80)
    assert match_pictures(picture_features(str(original)), picture_features(str(mirrored)))[0] < MIN_INLIERS
    ((_, _, inliers, corr),) = _check_chunk([(6, 99, str(original), str(mirrored))])
    assert inliers >= MIN_INLIERS and corr >= MIN_CORRELATION, (inliers, corr)


def test_looks_propose_the_copies_and_matching_confirms_exactly_them(photos, tmp_path):
    from celebface.data.same_picture import look_candidates, looks_for, same_picture_pairs

    paths = photos["paths"]
    looks = looks_for(paths, tmp_path)
    assert looks.shape == (22, 1280) and (tmp_path / "cache" / "photo_looks.npz").exists()
    candidates = look_candidates(looks, neighbours=3)
    assert photos["planted"] <= candidates
    found = same_picture_pairs(paths, candidates, workers=1)
    assert set(found) == photos["planted"]
    again = looks_for(paths, tmp_path)
    assert np.array_equal(again, looks)  # from the cache, as stored (half precision)


def test_candidates_in_small_blocks_equal_one_block():
    from celebface.data.same_picture import look_candidates

    rng = np.random.default_rng(0)
    looks = rng.normal(size=(50, 16)).astype(np.float16)
    looks[7] = looks[30] + 0.05 * rng.normal(size=16)  # near each other
    looks = looks / np.linalg.norm(looks.astype(np.float32), axis=1, keepdims=True).astype(np.float16)
    whole = look_candidates(looks, neighbours=3, min_similarity=0.2, block=4096)
    assert (7, 30) in whole
    assert look_candidates(looks, neighbours=3, min_similarity=0.2, block=7) == whole
