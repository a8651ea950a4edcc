"""`celebface check`, the group split and `celebface cluster` on real photos with planted copies and mislabels."""
from __future__ import annotations

import io
import json
import shutil
from pathlib import Path

import pytest
from PIL import Image

from celebface.errors import DataError
from conftest import EXTRAS, PEOPLE, PHOTOS_PER_PERSON, photos  # noqa: E402

CELEB5 = EXTRAS.parent / "celeb5"


def _jpeg(img: Image.Image, quality: int) -> bytes:
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=quality)
    return buf.getvalue()


@pytest.fixture(scope="module")
def planted(data_dir: Path, work_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> dict:
    """The session's DATA_DIR (links) plus planted copies and a mislabel; a copy of its WORK_DIR is re-used."""
    root = tmp_path_factory.mktemp("planted")
    data = root / "data"
    shutil.copytree(data_dir, data, symlinks=True)
    work = root / "work"
    shutil.copytree(work_dir, work, ignore=shutil.ignore_patterns("train_aug"))
    federer, serena = photos("Roger_Federer")[1], photos("Serena_Williams")[2]
    img = Image.open(federer).convert("RGB")
    w, h = img.size
    cropped = img.crop((w // 12, h // 12, w - w // 12, h - h // 12)).resize((w * 2 // 3, h * 2 // 3))
    (data / "Roger_Federer" / "copy_cropped.jpg").write_bytes(_jpeg(cropped, 70))
    small = Image.open(serena).convert("RGB")
    small = small.resize((small.width // 2, small.height // 2))
    (data / "Virat_Kohli" / "copy_of_serena.jpg").write_bytes(_jpeg(small, 50))
    wrong = photos("Roger_Federer")[PHOTOS_PER_PERSON + 2]  # a Federer photo not otherwise in DATA_DIR
    (data / "Serena_Williams" / "wrong_person.jpg").symlink_to(wrong)
    return {"data": data, "work": work, "root": root,
            "pairs": [(f"Roger_Federer/{federer.name}", "Roger_Federer/copy_cropped.jpg"),
                      (f"Serena_Williams/{serena.name}", "Virat_Kohli/copy_of_serena.jpg")]}


@pytest.fixture(scope="module")
def report(planted: dict):
    from celebface.data.check import check

    return check(planted["data"], planted["root"] / "report", planted["work"], workers=1, progress=False)


def test_check_finds_planted_copies_within_and_across_people(report, planted):
    group_of = {f: g for g in report.duplicate_groups for f in g.files}
    for orig, copy in planted["pairs"]:
        assert copy in group_of and orig in group_of[copy].files, (orig, copy)
    assert group_of["Virat_Kohli/copy_of_serena.jpg"].across_people
    assert not group_of["Roger_Federer/copy_cropped.jpg"].across_people
    planted_files = {f for pair in planted["pairs"] for f in pair}
    # no other group joins photos of different people
    assert not [g for g in report.duplicate_groups if g.across_people and not planted_files & set(g.files)]


def test_check_flags_the_mislabel_and_lists_the_messy_files(report):
    wrong = {m.file: m for m in report.mislabelled}
    assert wrong["Serena_Williams/wrong_person.jpg"].best_other == "Roger_Federer"
    assert "Virat_Kohli/copy_of_serena.jpg" in wrong
    clean = [f for f in wrong if f not in ("Serena_Williams/wrong_person.jpg", "Virat_Kohli/copy_of_serena.jpg")]
    assert len(clean) <= 2, clean  # few false flags among ~50 clean photos
    assert [i.file for i in report.unreadable] == ["Serena_Williams/corrupt.jpg"]
    assert [i.file for i in report.no_face] == ["Virat_Kohli/a_cat.jpg"]
    assert any(i.file.startswith("Roger_Federer/becker") for i in report.several_faces)
    assert set(report.people) == set(PEOPLE) and report.too_small == []
    assert report.people["Roger_Federer"].distinct == report.people["Roger_Federer"].usable - 1


def test_check_writes_an_offline_html_report_and_json(report, planted):
    from celebface.data.check import CheckReport

    out = planted["root"] / "report"
    page = (out / "report.html").read_text()
    assert "data:image/jpeg;base64," in page and "copy_cropped.jpg" in page and "http" not in page
    assert CheckReport.model_validate_json((out / "report.json").read_text()) == report


def test_prepare_keeps_copies_on_one_side_of_the_split(planted):
    from celebface.config import PrepareOptions
    from celebface.data.prepare import prepare

    prepare(planted["data"], planted["work"], PrepareOptions(per_class=4), progress=False)
    split = json.loads((planted["work"] / "split.json").read_text())
    side = {f: s for s in ("train", "val", "test") for f in split[s]}
    for orig, copy in planted["pairs"]:
        assert any({orig, copy} <= set(g) for g in split["groups"])
        if orig in side and copy in side:
            assert side[orig] == side[copy]


def test_check_and_cluster_refuse_empty_or_photo_less_folders(tmp_path):
    from celebface.data.check import check
    from celebface.data.cluster import cluster_photos

    (tmp_path / "data" / "Someone").mkdir(parents=True)
    (tmp_path / "data" / "Someone" / "notes.txt").write_text("not a photo")
    with pytest.raises(DataError, match="no photos"):
        check(tmp_path / "data", tmp_path / "report", progress=False)
    with pytest.raises(DataError, match="no photos"):
        cluster_photos([tmp_path / "data"], tmp_path / "clusters", progress=False)


def test_cluster_groups_real_faces_into_folders_with_an_index(tmp_path):
    from celebface.data.cluster import ClusterIndex, cluster_crops, cluster_photos

    src = tmp_path / "unnamed"
    src.mkdir()
    for person in ("Madonna", "Jerry_Seinfeld"):
        for p in sorted((CELEB5 / person).iterdir())[:5]:
            (src / f"{person}_{p.name}").symlink_to(p)
    shutil.copyfile(EXTRAS / "no_face" / "cat.jpg", src / "cat.jpg")
    out = tmp_path / "clusters"
    index = cluster_photos([src], out, min_faces=3, workers=1, progress=False)
    assert index.photos == 11 and index.photos_without_face >= 1
    assert index.left_out + sum(c.size for c in index.clusters) == index.faces
    assert len(index.clusters) >= 2
    for c in index.clusters[:2]:
        people = [Path(f.photo).name.split("_")[0] for f in c.faces]
        assert max(people.count(p) for p in set(people)) >= 0.8 * len(people), people
        assert (out / c.id / "contact_sheet.png").exists()
        assert all((out / c.id / f.crop).exists() for f in c.faces)
    assert ClusterIndex.model_validate_json((out / "clusters.json").read_text()) == index
    assert len(cluster_crops(out / "c001")) == index.clusters[0].size
    with pytest.raises(DataError, match="not a cluster"):
        cluster_crops(src)


def test_one_face_only_is_counted_and_left_out(tmp_path):
    from celebface.data.cluster import cluster_photos

    one = sorted((CELEB5 / "Madonna").iterdir())[0]
    index = cluster_photos([one], tmp_path / "c", min_faces=3, workers=1, progress=False)
    assert (index.photos, index.faces, index.left_out, index.clusters) == (1, 1, 1, [])


def test_enroll_a_cluster_as_a_person(trained_model: Path, tmp_path: Path):
    from celebface.data.cluster import cluster_crops, cluster_photos
    from celebface.recognition.recognizer import load

    src = tmp_path / "unnamed"
    src.mkdir()
    for p in sorted((CELEB5 / "Madonna").iterdir())[:5]:
        (src / p.name).symlink_to(p)
    cluster_photos([src], tmp_path / "clusters", min_faces=3, workers=1, progress=False)
    model = tmp_path / "model"
    shutil.copytree(trained_model, model)
    rec = load(model)
    crops = cluster_crops(tmp_path / "clusters" / "c001")
    summary = rec.enroll("Madonna", crops, main_face=True)
    assert summary.faces >= len(crops) - 1 and "Madonna" in rec.classes
    held_out = sorted((CELEB5 / "Madonna").iterdir())[6]
    assert rec.predict_image(held_out).faces[0].name == "Madonna"


def test_rest_cluster_job_sheet_and_enrol(trained_model: Path, tmp_path: Path):
    import time

    from fastapi.testclient import TestClient

    from celebface.service.app import create_app

    model = tmp_path / "model"
    shutil.copytree(trained_model, model)
    client = TestClient(create_app(model, allowed_hosts=None))
    files = [("files", (p.name, p.read_bytes(), "image/jpeg")) for p in sorted((CELEB5 / "Madonna").iterdir())[:5]]
    files.append(("files", ("notes.txt", b"not a photo", "text/plain")))
    r = client.post("/api/cluster", files=files, data={"min_faces": "3"})
    assert r.status_code == 202, r.text
    job_id = r.json()["id"]
    for _ in range(600):
        job = client.get(f"/api/cluster/{job_id}").json()
        if job["status"] != "running":
            break
        time.sleep(0.5)
    assert job["status"] == "done", job
    assert job["index"]["photos"] == 6 and job["index"]["unreadable"] == 1
    first = job["index"]["clusters"][0]["id"]
    sheet = client.get(f"/api/cluster/{job_id}/{first}/sheet.png")
    assert sheet.status_code == 200 and sheet.content[:4] == b"\x89PNG"
    assert client.get(f"/api/cluster/{job_id}/..%2F..%2Fetc/sheet.png").status_code == 404
    r = client.post(f"/api/cluster/{job_id}/{first}/enrol", data={"name": "Madonna"})
    assert r.status_code == 200, r.text
    assert "Madonna" in r.json()["people"]
    assert client.get("/api/cluster/nope").status_code == 404
