"""The identity embedders: one registry, every entry one interface (parametrised over the registry, as timm's tests
are), and vectors of two identities never compared."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from celebface.errors import CelebfaceError, ConfigError, GalleryError
from celebface.faces.identity import (DEFAULT_IDENTITY, IDENTITIES, check_same_identity, get_identity,
                                      identity_embedder, identity_name_of_gallery, identity_ready)

GLINT = Path(__file__).resolve().parents[3] / "shared" / "datasets" / "glint12"


def glint_crops(n_people: int = 2, per_person: int = 2) -> tuple[list[Image.Image], list[int]]:
    """Real aligned face crops of glint12, padded to the square crops with a 20% margin that crop_face makes."""
    if not GLINT.is_dir():
        pytest.skip("sample data not found")
    crops, labels = [], []
    for k, person in enumerate(sorted(p for p in GLINT.iterdir() if p.is_dir())[:n_people]):
        for f in sorted(person.iterdir())[:per_person]:
            face = Image.open(f).convert("RGB").resize((160, 160))
            crop = Image.new("RGB", (224, 224), (124, 124, 124))
            crop.paste(face, (32, 32))
            crops.append(crop)
            labels.append(k)
    return crops, labels


def test_the_default_is_registered() -> None:
    assert DEFAULT_IDENTITY in IDENTITIES
    assert get_identity(None).name == DEFAULT_IDENTITY


def test_an_unknown_identity_is_a_clear_error() -> None:
    with pytest.raises(ConfigError, match="choose one of"):
        get_identity("nope")


def test_each_identity_records_itself_under_its_own_name() -> None:
    recorded = [s.recorded_as for s in IDENTITIES.values()]
    assert len(set(recorded)) == len(recorded)
    for spec in IDENTITIES.values():
        assert identity_name_of_gallery(spec.recorded_as) == spec.name


@pytest.mark.parametrize("name", sorted(IDENTITIES))
def test_every_identity_says_what_it_is(name: str) -> None:
    spec = get_identity(name)
    assert spec.dim > 0 and spec.crop and spec.preprocessing
    assert spec.weights.source and spec.weights.license and spec.weights.training_data and spec.weights.install
    for part in spec.parts:
        assert part in IDENTITIES


@pytest.mark.parametrize("name", sorted(IDENTITIES))
def test_every_identity_embeds_real_faces_as_unit_vectors_that_tell_people_apart(name: str) -> None:
    missing = identity_ready(name)
    if missing is not None:
        pytest.fail(f"{name}'s weights are not installed (the install step makes them): {missing}")
    crops, labels = glint_crops()
    embedder = identity_embedder(name)
    vecs = embedder.embed(crops)
    assert vecs.shape == (len(crops), get_identity(name).dim) == (len(crops), embedder.dim)
    assert np.allclose(np.linalg.norm(vecs, axis=1), 1.0, atol=1e-4)
    sims = vecs @ vecs.T
    same = np.array(labels)[:, None] == np.array(labels)[None, :]
    np.fill_diagonal(same, False)
    other = ~same & ~np.eye(len(labels), dtype=bool)
    assert sims[same].min() > sims[other].max()  # each face nearer its own person's other face than anyone else's


def test_vectors_of_two_identities_are_never_compared() -> None:
    check_same_identity("dlib", "dlib", "the index")
    with pytest.raises(CelebfaceError, match="never compared"):
        check_same_identity("dlib", "faceres", "the index")


def test_a_gallery_refuses_vectors_of_another_length(tmp_path: Path) -> None:
    from celebface.gallery import open_gallery
    from celebface.gallery.sightings import Sighting

    store = open_gallery(tmp_path, identity="dlib")
    try:
        assert (store.backbone, store.dim) == (get_identity("dlib").recorded_as, 128)
        s = Sighting("0" * 64, "a.jpg", None, 0, None, None, None, None)
        with pytest.raises(GalleryError, match="never mix"):
            store.add_sightings([s], np.ones((1, 64), np.float32) / 8)
        assert store.add_sightings([s], np.ones((1, 128), np.float32) / np.sqrt(128)) == 1
    finally:
        store.close()
