"""What stage 2 trains: the unfrozen backbone stages on cached activations, then the head."""
from __future__ import annotations

import torch
from torch import nn

from ..faces.backbones import CNNBackbone


class TunableNet(nn.Module):
    """What stage 2 trains: the unfrozen backbone stages on cached activations, then the head."""

    def __init__(self, backbone: CNNBackbone, head: nn.Module, act_dropout: float = 0.0,
                 distill: tuple[int, int] = (0, 0)) -> None:
        """:param act_dropout: share of the cached activations' channels zeroed in training (Dropout2d): the
            frozen part's output is the same every epoch, so this is where stage 2 sees new variations
        :param distill: (feature size, embedding size): a linear map from the pooled features to a face
            embedding, trained to predict a face network's embedding of each image (`train --distill`); (0, 0):
            none. It is used in training only: the model keeps the backbone and the head."""
        super().__init__()
        self.backbone = backbone.to(memory_format=torch.channels_last)
        self.head = head
        self.drop = nn.Dropout2d(act_dropout) if act_dropout > 0 else nn.Identity()
        self.distill = nn.Linear(*distill) if all(distill) else None

    def forward(self, activations: torch.Tensor, with_embedding: bool = False):
        """The logits; with `with_embedding`, (logits, the predicted face embedding)."""
        x = self.drop(activations.float()).contiguous(memory_format=torch.channels_last)
        pooled = self.backbone.tunable(x)
        if not with_embedding:
            return self.head(pooled)
        if self.distill is None:
            raise ValueError("this network has no distillation layer (TunableNet(distill=...))")
        return self.head(pooled), self.distill(pooled.float())

    def train(self, mode: bool = True) -> "TunableNet":
        super().train(mode)
        if mode:
            self.backbone.set_tunable_train()
        return self
