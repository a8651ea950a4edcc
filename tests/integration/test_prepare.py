"""prepare: faces from messy photos, the manifest, the split before augmentation, balancing, reuse."""
from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from celebface.data.augment import balance
from celebface.errors import DataError
from celebface.config import PrepareOptions
from celebface.data.prepare import prepare
from celebface.data.split import split_photos
from conftest import MULTI_FACE, PEOPLE


def manifest(work_dir: Path) -> dict[str, dict]:
    return {r["file"]: r for r in json.loads((work_dir / "manifest.json").read_text())["photos"]}


def test_manifest_records_every_photo_with_status(work_dir: Path, data_dir: Path) -> None:
    m = manifest(work_dir)
    n_photos = sum(1 for p in data_dir.rglob("*") if p.is_file() or p.is_symlink())
    assert len(m) == n_photos
    assert m["Serena_Williams/corrupt.jpg"]["status"] == "unreadable"
    assert "truncated" in m["Serena_Williams/corrupt.jpg"]["error"]
    assert m["Virat_Kohli/a_cat.jpg"]["status"] == "no_face"
    assert m[MULTI_FACE]["status"] == "several_faces"
    statuses = Counter(r["status"] for r in m.values())
    assert statuses["ok"] > 20
    for r in m.values():
        if r["status"] in ("ok", "several_faces"):
            face = r["faces"][r["chosen"]]
            assert len(face["box"]) == 4 and 0.9 <= face["prob"] <= 1.0 and len(face["landmarks"]) == 5
            assert (work_dir / face["crop"]).is_file()


def test_extraction_workers_leave_each_photos_hashes_and_look_for_the_duplicate_search(work_dir: Path) -> None:
    """prepare's workers hash each photo with faces and compute its look from their own decode (PhotoExtras): the
    caches hold them, equal to what the duplicate search would compute from the file itself."""
    import numpy as np

    from celebface.data.duplicates import photo_hash
    from celebface.data.same_picture import compute_looks
    from celebface.io.fileio import read_json, stat_key

    data_dir = Path(json.loads((work_dir / "manifest.json").read_text())["data_dir"])
    with_faces = [data_dir / f for f, r in manifest(work_dir).items() if r["status"] in ("ok", "several_faces")]
    hashes = read_json(work_dir / "cache" / "photo_hashes.json")
    with np.load(work_dir / "cache" / "photo_looks.npz") as z:
        looks = dict(zip(z["keys"].tolist(), z["vecs"]))
    assert len(with_faces) > 20 and all(stat_key(p) in hashes and stat_key(p) in looks for p in with_faces)
    sample = with_faces[::7]
    assert [hashes[stat_key(p)] for p in sample] == [[h.sha256, h.phash, h.dhash] for h in map(photo_hash, sample)]
    again = compute_looks([str(p) for p in sample]).astype(np.float32)  # decoded at a reduced scale
    cos = (again * np.stack([looks[stat_key(p)] for p in sample]).astype(np.float32)).sum(1)
    assert cos.min() > 0.97, cos


def test_multi_face_photo_picks_the_labelled_person(work_dir: Path) -> None:
    r = manifest(work_dir)[MULTI_FACE]
    # Nadal's face is the main (largest, central) one; Federer stands on the left of the photo.
    assert r["chosen_by"] == "embedding" and r["chosen"] != 0
    chosen, main = r["faces"][r["chosen"]]["box"], r["faces"][0]["box"]
    assert (chosen[0] + chosen[2]) / 2 < (main[0] + main[2]) / 2
    assert not r["suspect"]


def test_no_augmented_copy_of_a_validation_photo_in_training(work_dir: Path) -> None:
    ds = json.loads((work_dir / "dataset.json").read_text())
    val_sources = {it["source"] for it in ds["splits"]["val"]}
    train_sources = {it["source"] for it in ds["splits"]["train"]}
    assert val_sources and not (val_sources & train_sources)
    assert not any(it["augmented"] for it in ds["splits"]["val"])
    counts = Counter(it["label"] for it in ds["splits"]["train"])
    assert sorted(ds["classes"]) == sorted(PEOPLE)
    assert all(counts[i] == 40 for i in range(len(PEOPLE)))  # balanced to exactly N
    assert any(it["augmented"] for it in ds["splits"]["train"])
    split = json.loads((work_dir / "split.json").read_text())
    assert set(split["val"]) == val_sources and split["seed"] == 0


def test_rerun_reuses_finished_work(work_dir: Path, data_dir: Path) -> None:
    before = (work_dir / "dataset.json").read_text()
    crop = next((work_dir / "faces").rglob("*.jpg"))
    mtime = crop.stat().st_mtime_ns
    prepare(data_dir, work_dir, PrepareOptions(per_class=40), progress=False)
    assert crop.stat().st_mtime_ns == mtime
    assert json.loads((work_dir / "dataset.json").read_text())["splits"] == json.loads(before)["splits"]


def test_a_remade_crop_is_augmented_again(work_dir: Path, data_dir: Path, tmp_path: Path) -> None:
    """Augmented copies follow their crop's content, not only its name: a crop re-made under the same name (new
    crop settings, a new detector) does not leave copies of the old one in training."""
    import shutil

    work = tmp_path / "work"
    shutil.copytree(work_dir, work)
    index = json.loads((work / "dataset.json").read_text())
    aug = next(it for it in index["splits"]["train"] if it["augmented"])
    crop = work / next(it["file"] for it in index["splits"]["train"]
                       if not it["augmented"] and it["source"] == aug["source"])
    old_aug = (work / aug["file"]).read_bytes()
    from PIL import Image, ImageOps

    ImageOps.mirror(Image.open(crop)).save(crop, quality=95)  # the same name, another picture
    prepare(data_dir, work, PrepareOptions(per_class=40), progress=False)
    new = json.loads((work / "dataset.json").read_text())
    assert new["recipe_hash"] != index["recipe_hash"]
    assert (work / aug["file"]).read_bytes() != old_aug


def test_crops_do_not_depend_on_the_work_dirs_history(work_dir: Path, data_dir: Path, tmp_path: Path) -> None:
    """A WORK_DIR prepared with other crop settings and then with the first ones again holds the crops of a fresh
    one, byte for byte: crops made again from the stored boxes equal those made from the detector's boxes (with
    boxes stored to 0.1 px, a crop in seven came out a pixel off, and validation figures moved with it)."""
    import shutil

    work = tmp_path / "work"
    shutil.copytree(work_dir, work)

    def crops() -> dict[str, bytes]:
        return {str(p.relative_to(work)): p.read_bytes() for p in sorted((work / "faces").rglob("*.jpg"))}

    fresh = crops()
    prepare(data_dir, work, PrepareOptions(per_class=40, margin=0.3), progress=False)
    wider = crops()
    assert wider.keys() == fresh.keys() and all(wider[k] != fresh[k] for k in fresh)
    prepare(data_dir, work, PrepareOptions(per_class=40), progress=False)
    assert crops() == fresh


def test_split_is_stratified_seeded_and_refuses_tiny_classes() -> None:
    items = [(f"a{i}", "A") for i in range(10)] + [(f"b{i}", "B") for i in range(5)]
    s1, s2 = split_photos(items, 0.2, 0.0, seed=3), split_photos(items, 0.2, 0.0, seed=3)
    assert s1 == s2
    assert sum(v.startswith("a") for v in s1["val"]) == 2 and sum(v.startswith("b") for v in s1["val"]) == 1
    assert split_photos(items, 0.2, 0.0, seed=4) != s1
    with pytest.raises(DataError, match="too few usable face photos.*C \\(1\\)"):
        split_photos(items + [("c0", "C")], 0.2)


def test_balancing_is_seeded_and_downsamples(work_dir: Path, tmp_path: Path) -> None:
    crops = sorted((work_dir / "faces" / "Virat_Kohli").glob("*_f0.jpg"))[:3]
    a = balance({"V": crops}, 7, tmp_path / "a", seed=1, fill="reflect")
    b = balance({"V": crops}, 7, tmp_path / "b", seed=1, fill="reflect")
    assert len(a["V"]) == 7 and sum(it["augmented"] for it in a["V"]) == 4
    for x, y in zip(a["V"], b["V"]):
        assert Path(x["file"]).read_bytes() == Path(y["file"]).read_bytes()
    assert len(balance({"V": crops}, 2, tmp_path / "c", seed=1)["V"]) == 2


def test_gray_share_makes_grayscale_copies_and_changes_nothing_else(work_dir: Path, tmp_path: Path) -> None:
    import numpy as np
    from PIL import Image

    crops = sorted((work_dir / "faces" / "Virat_Kohli").glob("*_f0.jpg"))[:3]

    def channel_gap(path: Path) -> float:  # how far the colour channels are apart (JPEG keeps gray near 0)
        x = np.asarray(Image.open(path).convert("RGB"), np.int16)
        return float(np.abs(x[..., 0] - x[..., 1]).mean() + np.abs(x[..., 1] - x[..., 2]).mean())

    colour = balance({"V": crops}, 9, tmp_path / "c", seed=1)["V"]
    gray = balance({"V": crops}, 9, tmp_path / "g", seed=1, gray=1.0)["V"]
    for c, g in zip(colour, gray):
        if not c["augmented"]:
            assert c["file"] == g["file"]
            continue
        assert channel_gap(g["file"]) < 1.0 < channel_gap(c["file"])
        # the same affine and flip draws: the gray copy is the colour copy's luminance
        lum_c = np.asarray(Image.open(c["file"]).convert("L"), np.float32)
        lum_g = np.asarray(Image.open(g["file"]).convert("L"), np.float32)
        assert np.abs(lum_c - lum_g).mean() < 3.0


def test_bad_data_dir_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="not a folder"):
        prepare(tmp_path / "nope", tmp_path / "w")
    (tmp_path / "empty" / "Someone").mkdir(parents=True)
    with pytest.raises(DataError, match="no photos found"):
        prepare(tmp_path / "empty", tmp_path / "w")
