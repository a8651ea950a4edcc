"""The design's classification heads, and what stage 2 trains (unfrozen backbone stages + head)."""
from __future__ import annotations

import torch
from torch import nn

from .backbones import CNNBackbone


def make_head(kind: str, in_dim: int, n_classes: int) -> nn.Sequential:
    """'design': Dense(256, ReLU) -> Dropout(0.5) -> classes (after global average pooling), as in the design.
    'finetune': the fine-tuning head, with an extra dense layer, batch norm and dropout for regularisation."""
    if kind == "design":
        return nn.Sequential(nn.Linear(in_dim, 256), nn.ReLU(), nn.Dropout(0.5), nn.Linear(256, n_classes))
    if kind == "finetune":
        return nn.Sequential(nn.Linear(in_dim, 512), nn.BatchNorm1d(512), nn.ReLU(), nn.Dropout(0.5),
                             nn.Linear(512, 256), nn.ReLU(), nn.Dropout(0.3), nn.Linear(256, n_classes))
    raise ValueError(f"unknown head kind {kind!r}")


class TunableNet(nn.Module):
    """What stage 2 trains: the unfrozen backbone stages on cached activations, then the head."""

    def __init__(self, backbone: CNNBackbone, head: nn.Module) -> None:
        super().__init__()
        self.backbone = backbone.to(memory_format=torch.channels_last)
        self.head = head

    def forward(self, activations: torch.Tensor) -> torch.Tensor:
        x = activations.float().contiguous(memory_format=torch.channels_last)
        return self.head(self.backbone.tunable(x))

    def train(self, mode: bool = True) -> "TunableNet":
        super().train(mode)
        if mode:
            self.backbone.set_tunable_train()
        return self
