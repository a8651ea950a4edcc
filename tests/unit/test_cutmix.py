"""Stage 2's CutMix (`train --cutmix P`): a box of each sample's maps comes from another sample, and the loss weighs
the two labels by area; off by default, it leaves training exactly as it was."""
from __future__ import annotations

import pytest
import torch
from torch import nn

from celebface.training.loop import FitConfig, Split, cutmix, fit


def test_cutmix_pastes_one_box_from_another_sample_and_weighs_it_by_area() -> None:
    n, c, h, w = 6, 3, 8, 10
    x = torch.arange(n, dtype=torch.float32).view(n, 1, 1, 1).expand(n, c, h, w).contiguous()  # sample i is all i
    y = torch.arange(n)
    mixed, y2, keep = cutmix(x, y, torch.Generator().manual_seed(3))
    for i in range(n):
        pasted = mixed[i] != x[i]
        if y2[i] == y[i]:  # paired with itself: nothing changes
            assert not pasted.any()
            continue
        assert torch.all(mixed[i][pasted] == float(y2[i]))  # what changed came from the sample whose label is y2
        rows, cols = pasted[0].any(1).nonzero(), pasted[0].any(0).nonzero()
        box = (rows.max() - rows.min() + 1) * (cols.max() - cols.min() + 1)
        assert int(pasted[0].sum()) == int(box)  # one rectangle, the same in every channel
        assert keep == pytest.approx(1 - int(box) / (h * w))
    assert torch.equal(x, torch.arange(n, dtype=torch.float32).view(n, 1, 1, 1).expand(n, c, h, w))  # input kept


class _MapNet(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv, self.fc = nn.Conv2d(2, 4, 3, padding=1), nn.Linear(4, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.conv(x).relu().mean((2, 3)))


def _train(share: float) -> tuple[list[dict], dict]:
    torch.manual_seed(0)
    y = torch.randint(0, 2, (96,))
    X = torch.randn(96, 2, 6, 6) + y.view(-1, 1, 1, 1).float() * 2  # class 1 is brighter everywhere
    torch.manual_seed(1)
    net = _MapNet()
    cfg = FitConfig(epochs=8, lr=0.05, patience=8, batch_size=16, cutmix=share)
    history = fit(net, Split(X[:64], y[:64]), Split(X[64:], y[64:]), [{"params": net.parameters(), "lr": 0.05}], cfg)
    return history, net.state_dict()


def test_training_with_cutmix_still_learns_and_off_changes_nothing() -> None:
    with_mix, _ = _train(1.0)
    assert with_mix[-1]["val_acc"] >= 0.9  # the maps' brightness survives boxes of other samples
    off, weights_off = _train(0.0)
    again, weights_again = _train(0.0)
    assert off == again and all(torch.equal(weights_off[k], weights_again[k]) for k in weights_off)
    assert [r["train_loss"] for r in with_mix] != [r["train_loss"] for r in off]  # it did change training


def test_cutmix_leaves_flat_inputs_alone() -> None:
    torch.manual_seed(0)
    X = torch.randn(64, 4)
    train = Split(X, (X[:, 0] > 0).long())

    def run(share: float) -> list[dict]:
        torch.manual_seed(0)
        net = nn.Linear(4, 2)
        cfg = FitConfig(epochs=3, lr=0.1, patience=5, batch_size=16, cutmix=share)
        return fit(net, train, train, [{"params": net.parameters(), "lr": 0.1}], cfg)

    assert run(1.0) == run(0.0)  # stage 1's pooled features (2-D) are never mixed
