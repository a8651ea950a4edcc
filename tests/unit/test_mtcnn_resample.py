"""The batched MTCNN's resampling (one gather for all boxes) gives the very floats of facenet-pytorch's
`interpolate(crop, size, mode="area")` per box (synthetic whole-number images, random boxes)."""
from __future__ import annotations


def test_area_resample_equals_interpolate_per_box() -> None:
    import torch
    from torch.nn.functional import interpolate

    from celebface.faces.mtcnn_fast import area_resample, area_resize, summed_area

    g = torch.Generator().manual_seed(0)
    imgs = torch.randint(0, 256, (2, 157, 211, 3), generator=g).to(torch.float32)
    table = summed_area(imgs)
    chw = imgs.permute(0, 3, 1, 2)
    assert torch.equal(area_resize(table, (95, 127)), interpolate(chw, size=(95, 127), mode="area"))
    n = 40
    y0, x0 = torch.randint(0, 150, (n,), generator=g), torch.randint(0, 200, (n,), generator=g)
    y1 = torch.minimum(y0 + torch.randint(1, 120, (n,), generator=g), torch.tensor(157))
    x1 = torch.minimum(x0 + torch.randint(1, 120, (n,), generator=g), torch.tensor(211))
    inds = torch.randint(0, 2, (n,), generator=g)
    for size in (24, 48):
        ours = area_resample(table, inds, y0, y1, x0, x1, size)
        for k in range(n):
            crop = chw[inds[k]:inds[k] + 1, :, y0[k]:y1[k], x0[k]:x1[k]]
            assert torch.equal(ours[k:k + 1], interpolate(crop, size=(size, size), mode="area"))
