"""The design's classification heads (training builds them, recognition loads them)."""
from __future__ import annotations

from torch import nn

from ..errors import BundleError


def make_head(kind: str, in_dim: int, n_classes: int) -> nn.Sequential:
    """'design': Dense(256, ReLU) -> Dropout(0.5) -> classes (after global average pooling), as in the design.
    'finetune': the fine-tuning head, with an extra dense layer, batch norm and dropout for regularisation."""
    if kind == "design":
        return nn.Sequential(nn.Linear(in_dim, 256), nn.ReLU(), nn.Dropout(0.5), nn.Linear(256, n_classes))
    if kind == "finetune":
        return nn.Sequential(nn.Linear(in_dim, 512), nn.BatchNorm1d(512), nn.ReLU(), nn.Dropout(0.5),
                             nn.Linear(512, 256), nn.ReLU(), nn.Dropout(0.3), nn.Linear(256, n_classes))
    raise BundleError(f"unknown head kind {kind!r}; this model was made by a newer celebface")
