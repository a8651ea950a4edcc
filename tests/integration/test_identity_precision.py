"""`--precision bf16` (runtime.identity_precision): the identity networks name faces in bf16 autocast, and their
vectors stay close to fp32's on real sports5 faces (docs/how/speed.md has the measured effect on naming)."""
from __future__ import annotations

import numpy as np
import pytest

from conftest import cosines


@pytest.mark.parametrize("name, least", [("dlib", 0.999), ("faceres", 0.98), ("dlib+faceres", 0.99)])
def test_bf16_vectors_stay_close_to_fp32(name: str, least: float, sports5_crops, monkeypatch) -> None:
    from celebface.faces.identity import identity_embedder

    people = [p for p, _ in sports5_crops]
    crops = [c for _, c in sports5_crops]
    embedder = identity_embedder(name)
    monkeypatch.setenv("CELEBFACE_PRECISION", "fp32")
    exact = embedder.embed(crops)
    monkeypatch.setenv("CELEBFACE_PRECISION", "bf16")
    fast = embedder.embed(crops)
    assert not np.array_equal(exact, fast)  # bf16 did run
    assert np.diag(cosines(exact, fast)).min() >= least
    for vecs in (exact, fast):  # each face's most similar other face is the same person, in both precisions
        sims = cosines(vecs, vecs) - 2 * np.eye(len(vecs))
        assert [people[j] for j in sims.argmax(1)] == people


def test_precision_setting(monkeypatch) -> None:
    from celebface.errors import ConfigError
    from celebface.runtime import identity_precision, set_identity_precision, thread_env

    monkeypatch.delenv("CELEBFACE_PRECISION", raising=False)
    assert identity_precision() == "fp32"
    set_identity_precision("auto")
    assert identity_precision() == "fp32"
    set_identity_precision("bf16")
    assert identity_precision() == "bf16" and thread_env()["CELEBFACE_PRECISION"] == "bf16"  # Ray's workers get it
    with pytest.raises(ConfigError, match="CELEBFACE_PRECISION"):
        set_identity_precision("fp16")
