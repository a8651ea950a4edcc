"""`train --engine ray`: the frozen-feature cache (the frozen CNN stages run once over every training image) built
with Ray Data: a pool of actors, each holding one copy of the frozen stages, maps batches of image files to their
activations; the driver puts them back in file order. The images must be on a path every node sees (WORK_DIR)."""
from __future__ import annotations

from pathlib import Path
from typing import Callable, Optional, Sequence

import numpy as np

BATCH = 16  # images per actor call


class FrozenStages:
    """A Ray Data actor: {"row": [...], "file": [...]} -> {"row": [...], "acts": (N, C, H, W) float16}.

    Each actor builds the backbone itself, from its registry name, weights and depth: the same frozen stages as
    the driver's (ImageNet weights ship in a pip package; a weights file must be on a path every node sees)."""

    def __init__(self, spec_name: str, weights: str, depth: int, precision: str,
                 input_size: Optional[int] = None) -> None:
        """:param spec_name: the backbone's registry name
        :param weights: "imagenet" or a weights file, as given to `train`
        :param depth: the stages left to fine-tune (the frozen ones are the rest)
        :param precision: "fp32" or "bf16", as resolved by `train`
        :param input_size: the CNN's input side in pixels, as given to `train` (None: the backbone's)"""
        import torch

        from ..faces.backbones import build_backbone, sized_spec

        torch.set_num_threads(1)  # one actor per CPU
        self.backbone = build_backbone(spec_name, weights, depth)[0].eval()
        self.spec, self.precision = sized_spec(spec_name, input_size), precision

    def __call__(self, batch: dict) -> dict:
        from ..faces.features import frozen_activations

        files = [Path(str(f)) for f in batch["file"]]
        acts = frozen_activations(self.backbone, self.spec, files, batch_size=len(files), precision=self.precision,
                                  progress=False)
        return {"row": np.asarray(batch["row"], np.int64), "acts": acts.numpy()}


def ray_activations(address: Optional[str], weights: str, workers: Optional[int] = None,
                    quiet: bool = True) -> Callable:
    """A drop-in for faces.features.frozen_activations that runs on a Ray cluster (`train(activations=...)`).

    :param address: the Ray cluster ("auto", HOST:PORT, or None for a private one-machine Ray)
    :param weights: the backbone's weights as given to `train` ("none", random weights, which the actors could
        not rebuild alike, runs here instead)
    :param workers: actors (1 CPU each; default one per CPU of the cluster)
    """
    from ..faces.features import frozen_activations
    from .ray_engine import connect

    connect(address, quiet)
    if weights not in ("imagenet", "none"):
        weights = str(Path(weights).resolve())  # a file: the same absolute path on every node

    def run(backbone, spec, files: Sequence[Path], device: str = "cpu", precision: str = "fp32",
            progress: bool = False):
        if weights == "none":
            return frozen_activations(backbone, spec, files, device=device, precision=precision, progress=progress)
        return cluster_activations(spec.name, weights, backbone.depth, files, precision, workers, spec.input_size)

    return run


def cluster_activations(spec_name: str, weights: str, depth: int, files: Sequence[Path], precision: str = "fp32",
                        workers: Optional[int] = None, input_size: Optional[int] = None):
    """The frozen stages' activations (N, C, H, W) float16 of `files`, in their order, computed on Ray actors."""
    import torch

    from .ray_engine import actor_map

    items = [{"row": i, "file": str(Path(f).resolve())} for i, f in enumerate(files)]
    out: Optional[np.ndarray] = None
    seen = np.zeros(len(items), bool)
    init = {"spec_name": spec_name, "weights": weights, "depth": depth, "precision": precision,
            "input_size": input_size}
    for batch in actor_map(items, FrozenStages, init, BATCH, workers, batch_format="numpy"):
        acts = np.asarray(batch["acts"])
        if out is None:
            out = np.zeros((len(items), *acts.shape[1:]), np.float16)
        rows = np.asarray(batch["row"])
        out[rows], seen[rows] = acts, True  # a retried batch writes the same rows again
    if out is None or not seen.all():
        from ..errors import DataError

        raise DataError(f"{int((~seen).sum())} images got no activations from the Ray cluster; run again")
    return torch.from_numpy(out)
