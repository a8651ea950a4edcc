"""A plain crop carries the detector's landmarks into its own pixels (align.crop_face's `points`), and networks that
align on them (chips.ChipCutter) use them instead of running MTCNN on the crop again; faces at the photo's edge,
whose MTCNN landmarks are stretched, carry none."""
from __future__ import annotations

import numpy as np
from PIL import Image


def test_points_land_where_the_photo_had_them_and_edge_faces_carry_none() -> None:
    from celebface.faces.align import POINTS_KEY, crop_face

    rng = np.random.default_rng(0)
    img = Image.fromarray(rng.integers(0, 255, (300, 400, 3), dtype=np.uint8))
    box, pts = [150.0, 100.0, 230.0, 200.0], [[170.0, 130.0], [210.0, 131.0], [190.0, 155.0], [175.0, 180.0],
                                              [205.0, 181.0]]
    crop = crop_face(img, box, margin=0.2, size=224, points=pts)
    side = 100 * 1.4  # the box's longer side plus 20% on each side
    left, top = round(190 - side / 2), round(150 - side / 2)
    expected = (np.array(pts) - [left, top]) * 224 / round(side)
    np.testing.assert_allclose(crop.info[POINTS_KEY], expected, atol=1e-6)
    assert POINTS_KEY not in crop_face(img, box, margin=0.2, size=224).info
    edge = crop_face(img, [350.0, 100.0, 410.0, 190.0], margin=0.2, size=224, points=pts)  # its square leaves the photo
    assert POINTS_KEY not in edge.info


def test_chip_cutter_aligns_on_carried_points_without_looking_again() -> None:
    from celebface.faces.align import POINTS_KEY
    from celebface.faces.chips import ChipCutter

    class NoLook(ChipCutter):
        def landmarks(self, crop):  # would run MTCNN on the crop
            raise AssertionError("the carried landmarks were not used")

    rng = np.random.default_rng(1)
    crop = Image.fromarray(rng.integers(0, 255, (224, 224, 3), dtype=np.uint8))
    crop.info[POINTS_KEY] = [[80.0, 95.0], [144.0, 95.0], [112.0, 128.0], [86.0, 156.0], [138.0, 156.0]]
    chips = NoLook().chips([crop])
    assert chips.shape == (1, 112, 112, 3) and chips.dtype == np.uint8 and chips.std() > 10
