"""The index job's bookkeeping without Ray, data or models: keys, shard plans, the manifest, resuming."""
from __future__ import annotations

import json

import pytest

from celebface.scale.collect import ShardCollector
from celebface.scale.rows import FaceRow, to_table
from celebface.scale.shards import (ShardEntry, Source, content_hash, latest_keys, photo_key, plan_shards,
                                    shard_id)
from celebface.scale.storage import Store, list_sources

SRCS = [Source(f"/a/p{i:02d}.jpg", 100 + i, 7) for i in range(10)]


def test_keys_follow_path_and_content() -> None:
    assert content_hash(b"x") == content_hash(b"x") != content_hash(b"y")
    assert photo_key("/a.jpg", "h") != photo_key("/b.jpg", "h")
    assert shard_id(SRCS[:3]) == shard_id(list(SRCS[:3])) != shard_id(SRCS[1:4])


def test_plan_cuts_the_rest_into_shards_and_skips_finished() -> None:
    plans = plan_shards(reversed(SRCS), [], 4)
    assert [len(p.sources) for p in plans] == [4, 4, 2]
    assert [s.path for p in plans for s in p.sources] == sorted(s.path for s in SRCS)
    done = ShardEntry(plans[0].shard_id, [[s.path, "h", s.bytes, s.mtime_ns] for s in plans[0].sources])
    again = plan_shards(SRCS, [done], 4)
    assert {s.path for p in again for s in p.sources} == {s.path for s in SRCS[4:]}
    changed = [Source(SRCS[0].path, 999, 8)] + SRCS[1:]  # a photo edited since: indexed again
    assert SRCS[0].path in {s.path for p in plan_shards(changed, [done], 4) for s in p.sources}
    with pytest.raises(ValueError):
        plan_shards(SRCS, [], 0)


def test_manifest_round_trip_and_newest_wins() -> None:
    a = ShardEntry("a", [["/x.jpg", "h1", 1, 2]], faces=1, finished=1.0)
    b = ShardEntry("b", [["/x.jpg", "h2", 3, 4], ["/y.jpg", "h3", 1, 1]], faces=0, finished=2.0)
    assert ShardEntry.from_json(a.to_json()) == a
    assert latest_keys([b, a]) == {"/x.jpg": "b", "/y.jpg": "b"}


def _rows(shard: str, path: str, faces: int) -> list[FaceRow]:
    if not faces:
        return [FaceRow(shard, path, content_hash(path.encode()), "no_face")]
    return [FaceRow(shard, path, content_hash(path.encode()), "ok", face=k, box=[0, 0, 10, 10], detector_prob=0.99,
                    face_px=10.0, name="A", confidence=0.9, score=0.9, embedding=[0.0] * 128) for k in range(faces)]


def test_collector_writes_each_shard_once_and_drops_repeats(tmp_path) -> None:
    store = Store.open(str(tmp_path / "res"))
    plans = plan_shards(SRCS[:4], [], 2)
    col = ShardCollector(store, plans)
    p0, p1 = plans[0].sources
    col.add(to_table(_rows(plans[0].shard_id, p0.path, 2)))
    assert col.written == 0 and len(store.entries()) == 0  # half a shard is never written
    col.add(to_table(_rows(plans[0].shard_id, p0.path, 2) + _rows(plans[0].shard_id, p1.path, 0)))
    assert col.written == 1 and col.faces == 2 and col.duplicates == 1
    col.add(to_table(_rows(plans[0].shard_id, p1.path, 0)))  # a retried task after the shard was written
    assert col.written == 1 and col.duplicates == 2
    assert col.missing() == [s.path for s in plans[1].sources]
    entries = store.entries()
    assert [e.shard_id for e in entries] == [plans[0].shard_id]
    assert {p[0] for p in entries[0].photos} == {p0.path, p1.path}
    manifest = json.loads((tmp_path / "res" / "_manifest" / f"shard-{plans[0].shard_id}.json").read_text())
    assert manifest["faces"] == 2
    # A manifest entry whose Parquet file is gone does not count as finished.
    (tmp_path / "res" / plans[0].file_name).unlink()
    assert store.entries() == []


def test_list_sources_local_and_uri(tmp_path) -> None:
    (tmp_path / "d").mkdir()
    for n in ("b.jpg", "a.png", "notes.txt"):
        (tmp_path / "d" / n).write_bytes(b"123")
    local = list_sources([str(tmp_path / "d"), str(tmp_path / "d" / "a.png")])
    assert [s.path.rsplit("/", 1)[1] for s in local] == ["a.png", "b.jpg"]
    uri = list_sources([f"file://{tmp_path / 'd'}"])
    assert [s.path for s in uri] == [f"file://{tmp_path / 'd' / n}" for n in ("a.png", "b.jpg")]
    assert all(s.bytes == 3 for s in uri)


def test_engine_ray_without_ray_says_how_to_install(monkeypatch) -> None:
    import sys

    from celebface.errors import ConfigError
    from celebface.scale.ray_engine import require_ray

    monkeypatch.setitem(sys.modules, "ray", None)  # as if Ray were not installed
    with pytest.raises(ConfigError, match=r"install celebface\[ray\]"):
        require_ray()


def test_a_video_in_parts_is_written_once_all_parts_are_in_as_if_read_whole(tmp_path) -> None:
    from celebface.scale.parts import WorkItem

    store = Store.open(str(tmp_path / "res"))
    video, broken, photo = Source("/a/long.mp4", 10, 1), Source("/a/bad.mp4", 10, 1), Source("/a/p.jpg", 10, 1)
    plans = plan_shards([video, broken, photo], [], 3)
    sid = plans[0].shard_id
    items = [WorkItem(video.path, sid, 0.0, 600.0), WorkItem(video.path, sid, 600.0, 1200.0),
             WorkItem(video.path, sid, 1200.0), WorkItem(broken.path, sid, 0.0, 600.0),
             WorkItem(broken.path, sid, 600.0), WorkItem(photo.path, sid)]
    col = ShardCollector(store, plans, items)

    def part(start, rows: list[FaceRow]) -> list[FaceRow]:
        for r in rows:
            r.segment = start
        return rows

    sha = content_hash(video.path.encode())
    first = part(0.0, [FaceRow(sid, video.path, sha, "ok", time=t, face=0, embedding=[0.0] * 128)
                                   for t in (0.5, 1.0)])
    col.add(to_table(part(600.0, _rows(sid, video.path, 0)) + first + _rows(sid, photo.path, 1)))
    col.add(to_table(part(0.0, _rows(sid, broken.path, 1))))
    bad = FaceRow(sid, broken.path, "h", "unreadable", error="breaks off at 700 s")
    col.add(to_table(part(600.0, [bad])))
    assert col.written == 0 and col.missing() == [video.path]  # the video's last part is still out
    col.add(to_table(part(1200.0, [FaceRow(sid, video.path, sha, "ok", time=1300.0, face=0,
                                                        embedding=[0.0] * 128)])))
    col.add(to_table(part(600.0, _rows(sid, video.path, 0))))  # a retried part: dropped
    assert col.written == 1 and col.duplicates == 1 and col.faces == 4
    from celebface.scale.index import read_index

    rows = read_index(str(tmp_path / "res")).to_pylist()
    assert [(r["status"], r["time"]) for r in rows if r["path"] == video.path] == [("ok", 0.5), ("ok", 1.0),
                                                                                     ("ok", 1300.0)]
    assert [(r["status"], r["error"]) for r in rows if r["path"] == broken.path] == [("unreadable",
                                                                                      "breaks off at 700 s")]
    assert len([r for r in rows if r["path"] == photo.path]) == 1
