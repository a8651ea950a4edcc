"""Ray, for real: a two-node Ray cluster on this machine (each node 1 CPU), started and stopped here.

prepare --engine ray finds the faces the local run finds; index on Ray names faces as `predict` does; a worker
node killed mid-job loses no photo and counts none twice; a killed index resumes from its finished shards; the
faces index on Ray adds to the gallery are grouped into people as the local engine's are.
"""
from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import EXTRAS, MULTI_FACE, SPORTS5

# Not imported here: Ray reads RAY_AUTH_MODE when first imported, which the fixture sets first.
pytestmark = pytest.mark.skipif(importlib.util.find_spec("ray") is None,
                                reason="the Ray tests need Ray: pip install 'celebface[ray]'")


@pytest.fixture(scope="module")
def cluster():
    """A head and one worker node, 1 CPU each (celebface.scale.localcluster), stopped at the end."""
    from celebface.scale.localcluster import LocalCluster

    c = LocalCluster(cpus=1)
    saved = {k: os.environ.get(k) for k in c.env}
    os.environ.update(c.env)
    try:
        c.start()
        c.add_node()
        from celebface.scale.ray_engine import connect

        connect(c.address)
        yield c
    finally:
        import ray

        ray.shutdown()
        c.stop()
        for k, v in saved.items():
            os.environ.pop(k, None) if v is None else os.environ.__setitem__(k, v)


def _link_subset(root: Path, files: list[Path], base: Path) -> Path:
    for f in files:
        dst = root / f.relative_to(base)
        dst.parent.mkdir(parents=True, exist_ok=True)
        dst.symlink_to(f.resolve())
    return root


def test_prepare_on_ray_finds_the_faces_of_the_local_run(cluster, data_dir, work_dir, tmp_path) -> None:
    from celebface.config import PrepareOptions
    from celebface.data.prepare import prepare
    from celebface.io.fileio import read_json
    from celebface.scale.prepare_ray import ray_runner

    files = [p for person in ("Roger_Federer", "Serena_Williams") for p in sorted((data_dir / person).iterdir())[:4]]
    files.append(data_dir / MULTI_FACE)
    sub = _link_subset(tmp_path / "data", files, data_dir)
    prepare(sub, tmp_path / "work", PrepareOptions(per_class=4), progress=False, runner=ray_runner(cluster.address))
    local = {r["file"]: r for r in read_json(work_dir / "manifest.json")["photos"]}
    remote = read_json(tmp_path / "work" / "manifest.json")["photos"]
    assert sorted(r["file"] for r in remote) == sorted(str(f.relative_to(data_dir)) for f in files)
    same = [r for r in remote if r["status"] == local[r["file"]]["status"]
            and [f["box"] for f in r["faces"]] == [f["box"] for f in local[r["file"]]["faces"]]]
    assert len(same) >= 0.99 * len(remote), [r["file"] for r in remote if r not in same]
    assert all((tmp_path / "work" / f["crop"]).is_file() for r in remote for f in r["faces"])


def _archive(tmp_path: Path) -> list[Path]:
    """Photos to index: new photos of known people, a group photo, a cat and a broken file."""
    new = sorted(f for f in (EXTRAS / "sports5_new_photos").rglob("*") if f.is_file())[:3]
    files = [*new, EXTRAS / "group_photos" / "couple.jpg", EXTRAS / "no_face" / "cat.jpg"]
    (tmp_path / "broken.jpg").write_bytes(b"not a photo")
    return [*files, tmp_path / "broken.jpg"]


def test_index_on_ray_names_faces_as_predict_does(cluster, trained_model, tmp_path) -> None:
    from celebface.recognition.recognizer import load
    from celebface.scale.index import IndexOptions, index, read_index

    photos = _archive(tmp_path)
    s = index(trained_model, [str(p) for p in photos], str(tmp_path / "res"),
              IndexOptions("ray", cluster.address, workers=2, shard_size=3, batch_size=1))
    assert (s.photos, s.skipped, s.shards) == (len(photos), 0, -(-len(photos) // 3))
    rows = read_index(str(tmp_path / "res")).to_pylist()
    rec = load(trained_model)
    for p in photos:
        want = rec.predict_image(p)
        got = sorted((r for r in rows if r["path"] == str(p.resolve())), key=lambda r: r["face"])
        assert got, p
        if want.error:
            assert [r["status"] for r in got] == ["unreadable"]
            continue
        assert [r["name"] for r in got if r["face"] >= 0] == [f.name for f in want.faces], p
        for r, f in zip((r for r in got if r["face"] >= 0), want.faces):
            assert r["box"] == pytest.approx(f.box, abs=0.2) and len(r["embedding"]) == rec.identity.dim


def _grouped(model: Path) -> list[list[str]]:
    """The gallery's people, each as the sorted 'folder/file' of its archive faces."""
    from celebface.gallery import open_gallery

    store = open_gallery(model)
    try:
        return sorted(sorted(f"{Path(s.path).parent.name}/{Path(s.path).name}" for s in
                             store.person_sightings(p.id)[0]) for p in store.people_overview() if p.sightings)
    finally:
        store.close()


def test_index_on_ray_feeds_people_grouping_as_the_local_engine_does(cluster, tmp_path) -> None:
    """`index --engine ray --add-to-gallery`: the sightings it writes are grouped into the same people as the local
    engine's (4 photos each of two sports5 players: two unnamed people of 4 faces, one per player)."""
    from celebface.recognition.init_model import init_model
    from celebface.scale.index import IndexOptions, index
    from celebface.scale.to_gallery import add_index_to_gallery

    photos = [str(f) for who in ("Roger_Federer", "Serena_Williams")
              for f in sorted(f for f in (SPORTS5 / who).iterdir() if f.is_file())[:4]]
    people = {}
    for engine in ("local", "ray"):
        model = init_model(tmp_path / engine / "model", identity="dlib")
        options = IndexOptions(engine, cluster.address if engine == "ray" else None, workers=2, shard_size=3,
                               batch_size=1)
        assert index(model, photos, str(tmp_path / engine / "res"), options).photos == len(photos)
        added = add_index_to_gallery(model, str(tmp_path / engine / "res"))
        assert added.added == added.faces >= len(photos), added
        assert "new unnamed people" in added.grouped, added
        people[engine] = _grouped(model)
    assert people["ray"] == people["local"]
    assert sorted({f.split("/")[0] for f in p} for p in people["ray"]) == [{"Roger_Federer"}, {"Serena_Williams"}]
    assert all(len(p) >= 3 for p in people["ray"]), people


def _sports_photos(n: int) -> list[Path]:
    people = sorted(p for p in SPORTS5.iterdir() if p.is_dir())
    per = [sorted(f for f in p.iterdir() if f.is_file()) for p in people]
    return [files[i] for i in range(n) for files in per][:n]


@pytest.mark.parametrize("name", ["efficientnet_lite0", "efficientnet_lite1", "efficientnet_lite2"])
def test_frozen_feature_cache_on_ray_equals_the_local_one(cluster, work_dir, name: str) -> None:
    """`train --engine ray` builds the frozen-feature cache with Ray Data: the same activations, in file order."""
    from celebface.faces.backbones import build_backbone, get_spec
    from celebface.faces.features import frozen_activations
    from celebface.scale.features_ray import cluster_activations

    files = sorted(work_dir.glob("faces/*/*"))[:12]
    backbone, _ = build_backbone(name, "imagenet", None)
    spec = get_spec(name)
    local = frozen_activations(backbone, spec, files, progress=False)
    on_ray = cluster_activations(spec.name, "imagenet", backbone.depth, files, workers=2)
    assert on_ray.shape == local.shape and on_ray.dtype == local.dtype
    assert (on_ray.float() - local.float()).abs().max().item() < 0.05
    assert (on_ray.float() - local.float()).abs().mean().item() < 1e-3


def test_a_killed_index_resumes_from_its_finished_shards(cluster, trained_model, tmp_path) -> None:
    from celebface.scale.index import IndexOptions, index, read_index
    from celebface.scale.storage import Store

    photos, out = _sports_photos(6), tmp_path / "res"
    cmd = [sys.executable, "-m", "celebface", "index", str(trained_model), *map(str, photos), "--out", str(out),
           "--engine", "ray", "--address", cluster.address, "--shard-size", "2", "--batch-size", "1", "--quiet"]
    proc = subprocess.Popen(cmd, env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])})
    try:
        while not Store.open(str(out)).entries() and proc.poll() is None:
            time.sleep(0.2)
    finally:
        proc.kill()
        proc.wait()
    finished = {p[0] for e in Store.open(str(out)).entries() for p in e.photos}
    assert 2 <= len(finished) < len(photos), "the job was killed after its first shard"
    s = index(trained_model, [str(p) for p in photos], str(out),
              IndexOptions("ray", cluster.address, workers=2, shard_size=2, batch_size=1))
    assert s.skipped == len(finished) and s.photos == len(photos)
    paths = [r["path"] for r in read_index(str(out)).to_pylist() if r["face"] <= 0]
    assert sorted(paths) == sorted(str(p.resolve()) for p in photos)


def test_a_worker_node_killed_mid_job_loses_no_photo(cluster, trained_model, tmp_path) -> None:
    """Last in this file: the cluster has one node left afterwards."""
    from celebface.scale.index import IndexOptions, index, read_index

    photos, killed = _sports_photos(8), []

    def kill_once(written: int) -> None:
        if not killed:
            cluster.kill_node(0)
            killed.append(written)

    s = index(trained_model, [str(p) for p in photos], str(tmp_path / "res"),
              IndexOptions("ray", cluster.address, workers=2, shard_size=2, batch_size=1), on_shard=kill_once)
    assert killed and s.photos == len(photos) and s.skipped == 0
    rows = read_index(str(tmp_path / "res")).to_pylist()
    keys = [(r["path"], r["face"]) for r in rows]
    assert len(keys) == len(set(keys)), "a face was counted twice"
    assert {r["path"] for r in rows} == {str(p.resolve()) for p in photos}, "a photo was lost"
