"""Late fusion (the `fusion` backbone): a face is named by the fine-tuned CNN's head and by the dlib face embedding
together.

Each known person gets the head's log-probability plus the face's cosine similarity to that person's nearest gallery
face divided by a temperature; the best sum names the face, and the face-verification gate (verify.py) then decides
"unknown" for the fused name as for any CNN model. The dlib similarities differ by a few hundredths between people,
so the temperature is small (backbones.FUSION_TEMPERATURE); the head settles the faces the embedding is unsure of.
Measured against both backbones alone in bench/accuracy.md.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

from ..types import Match


def fusion_config(temperature: float) -> dict:
    """The bundle config's "fusion" entry: what makes `Recognizer.name_crops` name faces by late fusion."""
    return {"temperature": temperature, "with": "dlib_face"}


def fused_log_scores(log_probs: np.ndarray, sims: np.ndarray, temperature: float) -> np.ndarray:
    """(N, P) fused scores: the head's log-probabilities plus the face similarities over the temperature.

    :param log_probs: (N, P) the head's log-softmax over the people
    :param sims: (N, P) each face's best cosine similarity to each person's gallery faces (same column order)
    :param temperature: the similarity scale (cosine-similarity units)
    """
    return np.asarray(log_probs, np.float64) + np.asarray(sims, np.float64) / float(temperature)


def softmax(z: np.ndarray) -> np.ndarray:
    """Row-wise softmax of (N, P) scores."""
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def fused_matches(classes: Sequence[str], log_probs: np.ndarray, sims: np.ndarray, temperature: float) -> list[Match]:
    """A Match per face from the fused scores (name = the best person; the verification gate runs after).

    :param classes: the head's people, in its column order
    :param log_probs: (N, P) the head's log-softmax
    :param sims: (N, P) best cosine similarity of each face to each person's gallery faces
    :param temperature: as for fused_log_scores
    """
    probs = softmax(fused_log_scores(log_probs, sims, temperature))
    out = []
    for p in probs:
        top = np.argsort(-p)[:3]
        k = int(top[0])
        out.append(Match(name=classes[k], confidence=round(float(p[k]), 4), score=round(float(p[k]), 4),
                         top=[(classes[i], round(float(p[i]), 4)) for i in top]))
    return out


def late_fusion(head_matcher, gallery_matcher, feats: np.ndarray, face_feats: np.ndarray,
                temperature: float) -> list[Match]:
    """Name faces by the head and the face gallery together.

    :param head_matcher: the model's HeadMatcher (its head's people are the ones named)
    :param gallery_matcher: the GalleryMatcher of the model's dlib face gallery
    :param feats: (N, D) the CNN's features of the faces
    :param face_feats: (N, 128) their dlib embeddings
    :param temperature: as for fused_log_scores
    """
    if len(feats) == 0:
        return []
    log_probs = head_matcher.log_probabilities(feats)
    sims = gallery_matcher.class_scores(face_feats, head_matcher.classes)
    return fused_matches(head_matcher.classes, log_probs, sims, temperature)
