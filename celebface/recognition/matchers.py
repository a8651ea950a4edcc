"""Matching face features to people: the trained head names, an open-set score decides "unknown".

The score is the cosine similarity of the face to the stored faces of the named person (the gallery) for
backbones whose spec says so (fixed face-embedding networks), else the head's softmax probability.
"""
from __future__ import annotations

import math
from typing import Optional, Protocol

import numpy as np
import torch

from ..config import UNKNOWN
from ..errors import BundleError, ConfigError
from ..types import Match
from .heads import make_head
from .openset import gallery_scores


class Matcher(Protocol):
    classes: list[str]
    threshold: float

    def match(self, feats: np.ndarray) -> list[Match]: ...


def check_threshold(value: float, score: str) -> float:
    """A threshold on the model's score scale: [0, 1] for softmax probability, [-1, 1] for cosine similarity."""
    low = -1.0 if score == "gallery" else 0.0
    if not isinstance(value, (int, float)) or math.isnan(value) or not low <= value <= 1.0:
        scale = "cosine similarity, -1 to 1" if score == "gallery" else "softmax probability, 0 to 1"
        raise ConfigError(f"--threshold {value} is outside this model's score scale ({scale})")
    return float(value)


class HeadMatcher:
    """The bundle's trained head names each face; the open-set score (gallery or softmax) gates "unknown"."""

    def __init__(self, head: torch.nn.Module, classes: list[str], threshold: float, score: str,
                 gallery: Optional[np.ndarray] = None, gallery_labels: Optional[np.ndarray] = None,
                 device: str = "cpu") -> None:
        self.head, self.classes, self.score = head, list(classes), score
        self.threshold = check_threshold(threshold, score)
        self.gallery, self.gallery_labels, self.device = gallery, gallery_labels, device

    @classmethod
    def from_bundle(cls, bundle, score: str, threshold: Optional[float], device: str) -> "HeadMatcher":
        cfg = bundle.config
        head = make_head(cfg["head"], int(cfg["feature_dim"]), len(cfg["classes"]))
        try:
            head.load_state_dict({k[5:]: v for k, v in bundle.state.items() if k.startswith("head.")})
        except RuntimeError as exc:
            raise BundleError(f"the model's weights do not fit its config.json ({len(cfg['classes'])} people): "
                              f"{str(exc).splitlines()[0]}; train the model again") from None
        t = cfg["threshold"] if threshold is None else threshold
        return cls(head.eval().to(device), cfg["classes"], t, score, bundle.gallery, bundle.gallery_labels, device)

    @torch.inference_mode()
    def log_probabilities(self, feats: np.ndarray) -> np.ndarray:
        """(N, P) the head's log-softmax over its people for each feature row."""
        return self.head(torch.from_numpy(feats).float().to(self.device)).log_softmax(1).cpu().numpy()

    def match(self, feats: np.ndarray) -> list[Match]:
        """Name, confidence, open-set score and top-3 for each feature row."""
        if len(feats) == 0:
            return []
        probs = np.exp(self.log_probabilities(feats))
        pred = probs.argmax(1)
        if self.score == "gallery":
            score = gallery_scores(feats, self.gallery, self.gallery_labels, pred)
        else:
            score = probs.max(1)
        out = []
        for p, k, s in zip(probs, pred, score):
            top = np.argsort(-p)[:3]
            out.append(Match(name=self.classes[k] if s >= self.threshold else UNKNOWN,
                             confidence=round(float(p[k]), 4), score=round(float(s), 4),
                             top=[(self.classes[i], round(float(p[i]), 4)) for i in top]))
        return out
