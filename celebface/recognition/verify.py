"""The "unknown" gate of models that name faces with a trained head (CNN backbones): face verification.

A CNN's softmax spreads all its probability over the people it knows, so a stranger is often named at 0.95 or more.
The gate asks a second, independent question: does the face look like the named person's own faces? The face's
identity vector (faces/identity.py, flip-averaged) is compared with the gallery faces of the person the head named
(the model's training faces, imported from the bundle, and any enrolled photos); below the threshold the face is
"unknown". The threshold
is calibrated at training on validation faces, real strangers (the other faces in the training photos, and
`--strangers DIR`) and simulated ones (recognition/openset.py).
"""
from __future__ import annotations

from dataclasses import replace
from typing import Any, Sequence

import numpy as np

from ..config import UNKNOWN
from ..types import Match


class FaceVerifier:
    """Checks the head's names against the gallery; `threshold` is on the cosine-similarity scale [-1, 1]."""

    def __init__(self, matcher: Any, threshold: float) -> None:
        """:param matcher: a GalleryMatcher over the model's gallery (identity vectors)
        :param threshold: the least similarity to the named person's nearest gallery face"""
        self.matcher, self.threshold = matcher, float(threshold)

    def apply(self, matches: Sequence[Match], face_feats: np.ndarray) -> list[Match]:
        """The matches with `score` set to the verification similarity and the name kept only if it passes.

        :param matches: the head's matches (their top[0] is the head's best person)
        :param face_feats: (N, dim) identity vectors of the same faces
        """
        names = [m.top[0][0] if m.top else UNKNOWN for m in matches]
        sims = self.matcher.person_scores(face_feats, names)
        return [replace(m, name=m.name if m.name != UNKNOWN and s >= self.threshold else UNKNOWN,
                        score=round(float(s), 4)) for m, s in zip(matches, sims)]
