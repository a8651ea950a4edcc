"""The group split keeps near-duplicates on one side (no datasets, no models)."""
from __future__ import annotations

import pytest

from celebface.data.split import split_photos
from celebface.errors import DataError


def _items(n_people: int = 4, per: int = 20) -> list[tuple[str, str]]:
    return [(f"P{p}/{k:02d}.jpg", f"P{p}") for p in range(n_people) for k in range(per)]


def _side(split: dict) -> dict[str, str]:
    return {f: s for s, fs in split.items() for f in fs}


def test_without_groups_the_split_is_unchanged_by_an_empty_group_list():
    items = _items()
    assert split_photos(items, 0.2, 0.1, seed=3) == split_photos(items, 0.2, 0.1, seed=3, groups=[])


@pytest.mark.parametrize("seed", range(6))
def test_groups_land_on_one_side_and_every_person_keeps_val_and_train(seed):
    items = _items()
    groups = [["P0/00.jpg", "P0/01.jpg", "P0/02.jpg"], ["P1/05.jpg", "P1/06.jpg"],
              ["P2/03.jpg", "P3/04.jpg"],  # a copy filed under another person
              ["P3/10.jpg", "P3/11.jpg", "P3/12.jpg", "P3/13.jpg"]]
    split = split_photos(items, 0.2, 0.1, seed=seed, groups=groups)
    side = _side(split)
    assert sorted(side) == sorted(f for f, _ in items)
    for g in groups:
        assert len({side[f] for f in g}) == 1, g
    for p in range(4):
        sides = [side[f] for f, person in items if person == f"P{p}"]
        assert {"train", "val", "test"} <= set(sides)


def test_a_person_whose_photos_are_all_one_picture_is_a_clear_error():
    items = _items(3, 5)
    groups = [[f"P1/{k:02d}.jpg" for k in range(5)]]
    with pytest.raises(DataError, match="P1 \\(1\\).*near-duplicates"):
        split_photos(items, 0.2, 0.0, groups=groups)
