"""`train --distill W`: stage 2 also teaches the CNN's pooled features to predict each training image's face
embedding, through a linear layer that only training uses; with W = 0 training is what it was."""
from __future__ import annotations

import pytest
import torch
from torch import nn

from celebface.config import TrainOptions
from celebface.errors import ConfigError
from celebface.faces.backbones import CNNBackbone
from celebface.training.heads import TunableNet
from celebface.training.loop import FitConfig, Split, embedding_loss, fit


def _net(distill: tuple[int, int] = (0, 0)) -> TunableNet:
    torch.manual_seed(0)
    backbone = CNNBackbone([nn.Conv2d(3, 8, 1), nn.Sequential(nn.Conv2d(8, 16, 3, padding=1), nn.ReLU())],
                           depth=1)
    return TunableNet(backbone, nn.Linear(16, 2), distill=distill)


def _data(n: int = 96) -> tuple[Split, Split, torch.Tensor]:
    """Two classes of 8-channel maps, and embedding targets that depend on the input (not only on the class)."""
    g = torch.Generator().manual_seed(1)
    y = torch.arange(n) % 2
    X = torch.randn(n, 8, 4, 4, generator=g) + y[:, None, None, None].float()
    mix = torch.randn(8, 6, generator=g)
    t = nn.functional.normalize(X.mean(dim=(2, 3)) @ mix, dim=1)
    return Split(X[:64], y[:64], t[:64]), Split(X[64:], y[64:]), t


def _embedding_error(net: TunableNet, train: Split) -> float:
    net.eval()
    with torch.no_grad():
        return float(embedding_loss(net(train.X, with_embedding=True)[1], train.t))


def test_the_embedding_is_learned_only_when_asked() -> None:
    train, val, _ = _data()
    cfg = FitConfig(30, lr=1e-2, patience=30, batch_size=16, seed=0)
    on, off = _net((16, 6)), _net((16, 6))
    before = _embedding_error(on, train)
    fit(on, train, val, [{"params": list(on.parameters())}], FitConfig(**{**cfg.__dict__, "distill": 1.0}))
    fit(off, train, val, [{"params": list(off.parameters())}], cfg)
    assert _embedding_error(on, train) < 0.5 * before
    assert _embedding_error(on, train) < 0.5 * _embedding_error(off, train)


def test_without_distillation_training_is_unchanged() -> None:
    """Targets in the split, a distillation layer in the net: with weight 0 neither is used, so the weights are
    those of a plain network's run (the extra layer takes no random draws after the plain parts are built)."""
    train, val, _ = _data()
    cfg = FitConfig(5, lr=1e-2, patience=5, batch_size=16, seed=0)
    plain, extra = _net(), _net((16, 6))
    h1 = fit(plain, Split(train.X, train.y), val, [{"params": list(plain.parameters())}], cfg)
    h2 = fit(extra, train, val, [{"params": list(extra.parameters())}], cfg)
    assert [h["val_loss"] for h in h1] == [h["val_loss"] for h in h2]
    assert all(torch.equal(a, extra.state_dict()[k]) for k, a in plain.state_dict().items())


def test_naming_uses_the_head_alone() -> None:
    net = _net((16, 6)).eval()
    x = torch.randn(3, 8, 4, 4)
    logits, emb = net(x, with_embedding=True)
    assert torch.equal(net(x), logits) and emb.shape == (3, 6)
    with pytest.raises(ValueError, match="no distillation layer"):
        _net()(x, with_embedding=True)


def test_a_bad_weight_is_refused() -> None:
    with pytest.raises(ConfigError, match="--distill"):
        TrainOptions(distill=-1).check()


def test_targets_are_centred_on_the_training_faces(monkeypatch) -> None:
    """Face embeddings share one direction (dlib's lie in a narrow cone): the targets are what is left once the
    training images' mean is taken away, at unit length."""
    from types import SimpleNamespace

    from celebface.training import train as train_module

    emb = torch.tensor([[1.0, 0.1], [1.0, -0.1], [1.0, 0.3], [4.0, 0.0]])
    monkeypatch.setattr(train_module, "face_embeddings", lambda data, progress, identity=None: emb)
    data = SimpleNamespace(rows={"train": torch.tensor([0, 1]), "val": torch.tensor([2, 3])})
    t = train_module.distill_targets(data, progress=False)
    assert torch.allclose(t, torch.tensor([[0.0, 1.0], [0.0, -1.0], [0.0, 1.0], [1.0, 0.0]]))
