"""Stage 2's network on cached activations: --act-dropout drops whole channels of the cached activations while
training, and nothing when naming (eval), so the shipped network is the plain backbone and head."""
from __future__ import annotations

import torch
from torch import nn

from celebface.faces.backbones import CNNBackbone
from celebface.training.heads import TunableNet


class Recorder(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.seen: list[torch.Tensor] = []

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.seen.append(x.detach().clone())
        return x


def _net(p: float) -> tuple[TunableNet, Recorder]:
    rec = Recorder()
    backbone = CNNBackbone([nn.Conv2d(3, 8, 1), rec], depth=1)  # the recorder is the one tunable stage
    return TunableNet(backbone, nn.Linear(8, 2), act_dropout=p), rec


def test_act_dropout_zeroes_whole_channels_in_training_only() -> None:
    torch.manual_seed(0)
    acts = torch.rand(16, 8, 4, 4) + 0.5  # no zeros of its own
    net, rec = _net(0.5)
    net.train()
    net(acts)
    dropped = (rec.seen[-1] == 0).all(-1).all(-1)  # (sample, channel): the whole map is zero
    assert 0.25 < dropped.float().mean() < 0.75
    assert ((rec.seen[-1] == 0) == dropped[..., None, None]).all()  # no channel partly zeroed
    net.eval()
    net(acts)
    assert torch.equal(rec.seen[-1], acts)


def test_no_act_dropout_leaves_activations_as_cached() -> None:
    acts = torch.rand(4, 8, 4, 4)
    net, rec = _net(0.0)
    net.train()
    net(acts)
    assert torch.equal(rec.seen[-1], acts)
