"""`fit`'s early stopping and learning-rate cut have separate patiences (stage 2 stops after --patience2 epochs
without a lower validation loss; the rate is still cut after --patience // 2)."""
from __future__ import annotations

import torch
from torch import nn

from celebface.training.loop import FitConfig, Split, fit


def _history(patience: int, lr_patience: int | None) -> list[dict]:
    torch.manual_seed(0)
    X = torch.randn(64, 4)
    train = Split(X, (X[:, 0] > 0).long())
    val = Split(torch.randn(32, 4), torch.randint(0, 2, (32,)))  # labels unrelated to inputs: no real progress
    net = nn.Linear(4, 2)
    cfg = FitConfig(epochs=30, lr=0.5, patience=patience, batch_size=16, lr_patience=lr_patience)
    return fit(net, train, val, [{"params": net.parameters(), "lr": 0.5}], cfg)


def test_early_stop_counts_epochs_without_improvement() -> None:
    for patience in (2, 4):
        h = _history(patience, lr_patience=2)
        best = min(range(len(h)), key=lambda i: h[i]["val_loss"])
        assert len(h) < 30 and len(h) - 1 - best == patience  # stopped `patience` epochs after the best one


def test_the_learning_rate_cut_follows_its_own_patience() -> None:
    cut_after = [next((i for i, r in enumerate(_history(8, lr_patience=lp)) if r["lr"] < 0.5), None) for lp in (1, 3)]
    assert cut_after[0] is not None and (cut_after[1] is None or cut_after[1] > cut_after[0])
    default = _history(4, lr_patience=None)  # None: half the early-stopping patience, as before
    assert default == _history(4, lr_patience=2)


def test_cosine_schedule_anneals_over_the_epoch_cap() -> None:
    torch.manual_seed(0)
    X = torch.randn(64, 4)
    train, val = Split(X, (X[:, 0] > 0).long()), Split(X[:32], (X[:32, 0] > 0).long())
    net = nn.Linear(4, 2)
    cfg = FitConfig(epochs=6, lr=0.1, patience=10, batch_size=16, schedule="cosine")
    h = fit(net, train, val, [{"params": net.parameters(), "lr": 0.1}], cfg)
    lrs = [r["lr"] for r in h]
    assert len(h) == 6 and lrs[0] == 0.1 and all(a > b for a, b in zip(lrs, lrs[1:]))  # falls every epoch
    assert lrs[-1] < 0.1 * 0.1  # near 0 by the last epoch, whatever the validation loss did
