"""Erasing faces for good (issue 33 #15): `forget --purge` erases a person's faces, live and in the trash, and the
archive sightings linked to them; the trash keeps removed faces only `trash_days` days; `undo` says it cannot bring
either back and goes on to the changes before them. Every test takes `open_gallery`;
tests/integration/test_gallery_postgres.py runs them again on PostgreSQL."""
from __future__ import annotations

import numpy as np
import pytest

from celebface.errors import GalleryError
from celebface.gallery.sightings import Sighting
from tests.unit.test_gallery_store import DIM, faces, open_gallery  # noqa: F401  (the fixture)


def trash_rows(g) -> int:
    with g._tx(write=False) as cur:
        return int(g._one(cur, "SELECT count(*) FROM faces_trash")[0])


def sighting(sha: str, face: int, name: str | None) -> Sighting:
    return Sighting(sha256=sha, path=f"archive/{sha}.jpg", time=None, face=face, box=[0.0, 0.0, 10.0, 10.0],
                    quality=0.9, name=name, score=0.5)


def test_purge_erases_live_and_trashed_faces_and_the_linked_sightings(open_gallery):
    g = open_gallery()
    old, new = faces(3, 1), faces(2, 2)
    g.add("Ann", old)
    g.add("Ann", new, replace=True)  # Ann's first faces go to the trash
    g.add("Bob", faces(2, 3))
    ann = new[0].embedding / np.linalg.norm(new[0].embedding)
    stranger = np.random.default_rng(5).normal(size=DIM)
    stranger /= np.linalg.norm(stranger)
    seen = [sighting(new[0].sha256, 0, None),  # Ann's face in the photo she was enrolled from
            sighting(new[0].sha256, 1, None),  # someone else in that photo
            sighting("elsewhere", 0, "Ann"),   # a face the model named Ann
            sighting("elsewhere", 1, "Bob")]
    assert g.add_sightings(seen, np.stack([ann, stranger, stranger, stranger]).astype(np.float32)) == 4
    assert trash_rows(g) == 3
    change = g.forget("Ann", who="tester", purge=True)
    assert change.action == "purge" and change.name == "Ann" and change.who == "tester"
    assert "2 face(s), 3 from the trash, 2 archive sighting(s)" in change.summary
    assert [p.name for p in g.people()] == ["Bob"] and g.count_faces() == 2 and trash_rows(g) == 0
    left = [s for rows, _ in g.iter_sightings() for s in rows]
    assert sorted((s.sha256, s.face, s.name) for s in left) == [(new[0].sha256, 1, None), ("elsewhere", 1, "Bob")]
    assert g.history(1)[0].action == "purge"


def test_undo_skips_a_purge_with_a_clear_message_and_never_brings_the_person_back(open_gallery):
    g = open_gallery()
    g.add("Zed", faces(2, 1))
    g.add("Ann", faces(3, 2))
    g.forget("Ann")
    g.add("Bob", faces(2, 3))
    purge = g.purge("Ann")  # Ann is only in the trash now: the purge finds her there
    assert trash_rows(g) == 0
    first = g.undo()
    assert f"undid change {purge.id - 1} (add Bob)" in first.summary
    assert f"skipped change {purge.id} (purge Ann) cannot be undone" in first.summary
    second = g.undo()  # the forget and the add of Ann cannot be undone either: on to Zed
    assert "(add Zed)" in second.summary and "(and 2 more)" in second.summary
    with pytest.raises(GalleryError, match=f"nothing to undo: change {purge.id} \\(purge Ann\\) cannot be undone"):
        g.undo()
    assert g.people() == [] and g.count_faces() == 0


def test_purging_nobody_is_a_clear_error(open_gallery):
    g = open_gallery()
    g.add("Ann", faces(1))
    g.forget("Ann")
    g.undo()
    g.rename("Ann", "Ann Smith")  # brought back and renamed: "Ann" is nobody now
    for name in ("Nobody", "Ann"):
        with pytest.raises(GalleryError, match=f"no person named '{name}' in the gallery or its trash"):
            g.forget(name, purge=True)
    assert [h.action for h in g.history()] == ["rename", "undo", "forget", "add"]
    assert [(p.name, p.faces) for p in g.people()] == [("Ann Smith", 1)]


def test_trash_older_than_the_retention_is_erased_at_the_next_change(open_gallery):
    g = open_gallery()
    g.trash_days = 1.0
    g.add("Ann", faces(3, 1))
    g.add("Bob", faces(2, 2))
    g.forget("Ann")
    g.forget("Bob")
    with g._tx(write=True) as cur:  # Ann was forgotten two days ago, Bob just now
        g._x(cur, "UPDATE history SET at = at - 2 * 86400 WHERE action = 'forget' AND name = 'Ann'")
    assert trash_rows(g) == 5
    g.add("Cy", faces(1, 3))
    assert trash_rows(g) == 2  # Ann's faces are erased, Bob's still undoable
    assert "(add Cy)" in g.undo().summary
    assert "(forget Bob)" in g.undo().summary
    assert [p.name for p in g.people()] == ["Bob"]
    third = g.undo()
    assert "skipped change 3 (forget Ann) cannot be undone: the faces it removed were erased from the trash after " \
           "1 day(s)" in third.summary and "(add Bob)" in third.summary
    assert g.people() == []


def test_a_matcher_in_another_process_drops_the_purged_faces(open_gallery):
    from celebface.gallery.matcher import GalleryMatcher

    g = open_gallery()
    g.add("Ann", faces(3, 1))
    g.add("Bob", faces(2, 2))
    m = GalleryMatcher(g, index="exact", threshold=0.5, refresh_s=0.0)
    probe = faces(1, 1)[0].embedding[None]
    assert len(m) == 5 and m.match(probe)[0].name == "Ann"
    open_gallery().purge("Ann")  # another connection
    assert m.refresh(force=True) and len(m) == 2
    assert m.match(probe)[0].name != "Ann" and (m.search(probe).people[0] >= 0).sum() == 1  # Bob only
