"""What stage 2 trains: the unfrozen backbone stages on cached activations, then the head."""
from __future__ import annotations

import torch
from torch import nn

from ..faces.backbones import CNNBackbone


class TunableNet(nn.Module):
    """What stage 2 trains: the unfrozen backbone stages on cached activations, then the head."""

    def __init__(self, backbone: CNNBackbone, head: nn.Module, act_dropout: float = 0.0) -> None:
        """:param act_dropout: share of the cached activations' channels zeroed in training (Dropout2d): the
            frozen part's output is the same every epoch, so this is where stage 2 sees new variations"""
        super().__init__()
        self.backbone = backbone.to(memory_format=torch.channels_last)
        self.head = head
        self.drop = nn.Dropout2d(act_dropout) if act_dropout > 0 else nn.Identity()

    def forward(self, activations: torch.Tensor) -> torch.Tensor:
        x = self.drop(activations.float()).contiguous(memory_format=torch.channels_last)
        return self.head(self.backbone.tunable(x))

    def train(self, mode: bool = True) -> "TunableNet":
        super().train(mode)
        if mode:
            self.backbone.set_tunable_train()
        return self
