"""Stage 2's mixup (`train --mixup ALPHA`): each input blended with a partner of its batch, reproducibly."""
from __future__ import annotations

import torch

from celebface.training.loop import mixed


def test_mixup_off_leaves_the_batch_alone() -> None:
    x, y = torch.randn(6, 3, 4, 4), torch.arange(6)
    xb, y2, lam = mixed(x, y, 0.0, torch.Generator().manual_seed(0))
    assert xb is x and y2 is y and lam == 1.0


def test_mixup_blends_each_input_with_its_partner_and_is_seeded() -> None:
    x, y = torch.randn(8, 3, 4, 4), torch.arange(8)
    xb, y2, lam = mixed(x, y, 0.4, torch.Generator().manual_seed(1))
    assert 0.5 <= lam < 1.0 and sorted(y2.tolist()) == list(range(8))  # the partners are a permutation
    assert torch.allclose(xb, lam * x + (1 - lam) * x[y2])  # labels are indices here: partner i is x[y2[i]]
    again = mixed(x, y, 0.4, torch.Generator().manual_seed(1))
    assert again[2] == lam and torch.equal(again[0], xb)
    torch.manual_seed(5)
    expected = torch.randn(1)
    torch.manual_seed(5)
    mixed(x, y, 0.4, torch.Generator().manual_seed(2))
    assert torch.equal(torch.randn(1), expected)  # the global random state is left as it was
