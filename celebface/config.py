"""Every option and default in one place: detection, preparation, training."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

#: Detection runs on a copy whose longer side is at most this many pixels; crops come from the original.
DETECT_SIZE = 800
#: Faces the detector is less sure of than this are ignored.
MIN_PROB = 0.90
#: Relative margin added on each side of the face box before cropping.
MARGIN = 0.2
#: How crop_face fills the parts of a crop outside the photo (faces cut by an edge, margins at the border):
#: "constant" (PAD_FILL grey), "reflect" (mirrored) or "edge" (smeared edge pixels). Constant named the most faces
#: cut by an edge right and the fewest wrong (bench/borders.py, figures in bench/borders.md).
PAD_MODE = "constant"
PAD_MODES = ("constant", "reflect", "edge")
#: The grey of constant padding (near the ImageNet mean, so it normalises to about zero).
PAD_FILL = 124
#: Side of the saved square face crops, in pixels.
CROP_SIZE = 224
#: Photos above this many pixels are refused (decompression bombs, absurd sizes).
MAX_PIXELS = 80_000_000
#: Photos are decoded at most this long a side for prediction (JPEGs at a reduced scale): far less memory for
#: huge photos, faces still larger than the 224-pixel crops; boxes are given in the full photo's pixels.
WORK_SIDE = 4096
#: The name given to faces below the open-set threshold.
UNKNOWN = "unknown"

#: Face quality (faces/quality.py): (threshold, value scored 1.0) per feature; a face below any threshold is reported
#: with name null and a reason. Measured by bench/quality.py (bench/quality.md) on 2,193 real faces (each photo's main
#: face in sports5, celeb5, glint12) and 10 false detections (hands, a ball, bracelets, a fence, parts of a face):
#: each threshold sits below the real faces' lowest values, except sharpness, which rejects 3 of 2,193 (0.14%).
QUALITY_MIN_SIDE = (20.0, 40.0)  # the box's shorter side in pixels (real faces: min 24): "too small"
QUALITY_MIN_PROB = (0.90, 0.99)  # MTCNN probability (real faces: min 0.913): "not a face"
QUALITY_GEOMETRY = (0.2, 0.6)  # landmark geometry, faces.quality.face_geometry (real: min 0.28): "not a face"
QUALITY_RECHECK = (0.5, 0.95)  # MTCNN on a second look at the face's crop (real: min 0.76, 6 false: 0): "not a face"
QUALITY_OVERLAP = (0.5, 0.9)  # 1 - share of the box inside a larger face's box (real: >= 0.99; parts of a face:
#                               0.32): "not a face"
QUALITY_SHARPNESS = (0.02, 0.1)  # Laplacian variance / intensity variance of the face (real: 0.1% at 0.021):
#                                  "too blurred"
#: A face whose quality score (the lowest feature score, 0.5 at its threshold) is below this is not named.
QUALITY_MIN = 0.5

FILL_MODES = ("nearest", "reflect", "constant")
PICK_MODES = ("embedding", "main")
PRECISIONS = ("auto", "fp32", "bf16")
SCHEDULES = ("plateau", "cosine")


@dataclass(frozen=True)
class ExtractSettings:
    """How faces are found and cropped; part of every cache key."""

    margin: float = MARGIN
    size: int = CROP_SIZE
    detect_size: int = DETECT_SIZE
    min_prob: float = MIN_PROB
    pad: str = PAD_MODE
    align: bool = False  # crops aligned on the 5 landmarks (align.aligned_crop) instead of square box crops

    def key(self) -> str:
        """The settings as a string; a WORK_DIR prepared with other settings (or the old edge padding, whose keys
        have no pad part) has its crops re-made by the next `prepare`."""
        return f"m{self.margin}-s{self.size}-d{self.detect_size}-p{self.min_prob}-pad{self.pad}" + \
            ("-align" if self.align else "")


@dataclass
class PrepareOptions:
    margin: float = MARGIN
    size: int = CROP_SIZE
    detect_size: int = DETECT_SIZE
    min_prob: float = MIN_PROB
    align: bool = False  # face crops aligned on the 5 landmarks (eyes level, fixed eye distance)
    pick: str = "embedding"  # "embedding" (match the person's other photos) or "main" (main face only)
    keep_suspects: bool = False
    group_duplicates: bool = True  # near-duplicate photos stay on one side of the split
    val_share: float = 0.2
    test_share: float = 0.0
    per_class: int = 400
    seed: int = 0
    rotation: float = 20.0
    shift: float = 0.1
    shear: float = 10.0
    zoom: float = 0.1
    flip: bool = True
    fill: str = "nearest"
    gray: float = 0.0  # share of the augmented copies made grayscale (photos in black and white exist)
    workers: Optional[int] = None

    @property
    def extract(self) -> ExtractSettings:
        return ExtractSettings(self.margin, self.size, self.detect_size, self.min_prob, align=self.align)

    def check(self) -> None:
        """Raise DataError for values no run can use (the CLI's click types already catch most)."""
        from .errors import DataError

        problems = []
        if self.pick not in PICK_MODES:
            problems.append(f"--pick must be one of {', '.join(PICK_MODES)}, not {self.pick!r}")
        if self.fill not in FILL_MODES:
            problems.append(f"--fill must be one of {', '.join(FILL_MODES)}, not {self.fill!r}")
        if self.per_class < 1:
            problems.append("--per-class must be at least 1")
        if not 0 <= self.gray <= 1:
            problems.append("--gray is a share of the augmented copies and must be between 0 and 1")
        if not 0 <= self.margin <= 1:
            problems.append("--margin is a share of the face box and must be between 0 and 1")
        if self.size < 32 or self.detect_size < 64:
            problems.append("--size must be at least 32 and --detect-size at least 64 pixels")
        if not 0 < self.min_prob < 1:
            problems.append("--min-prob must be between 0 and 1")
        if self.workers is not None and self.workers < 1:
            problems.append("--workers must be at least 1")
        if problems:
            raise DataError("; ".join(problems))


@dataclass
class TrainOptions:
    backbone: str = "efficientnet_lite0"
    weights: str = "imagenet"  # "imagenet", a file path, or "none"
    unfreeze: Optional[int] = None  # backbone stages fine-tuned in stage 2 (None: the backbone's default)
    input_size: Optional[int] = None  # side of the CNN's input images in pixels (None: the backbone's own)
    stage2: bool = True
    epochs1: int = 40
    # Stage 2's epoch cap (bench/accuracy_epochs20.md). The CLI's defaults are these fields.
    epochs2: int = 20
    lr1: float = 1e-3
    lr2: float = 1e-3
    batch_size: int = 64
    weight_decay: float = 1e-4
    patience: int = 5  # stage 1 early stopping; the learning rate is cut after half as many epochs in both stages
    # Stage 2 early stopping, apart from stage 1's since it costs far more an epoch (bench/accuracy_defaults.md).
    patience2: int = 5
    schedule: str = "plateau"  # stage 2's learning rate: "plateau" (cut when val loss stalls) or "cosine"
    # Stage 2: share of the cached activations' channels dropped in training (Dropout2d on what the frozen part
    # wrote once per image; bench/accuracy_act_dropout.md).
    act_dropout: float = 0.2
    # Stage 2: share of training batches with CutMix on the cached activations (a box of each sample's feature maps
    # replaced by another sample's, the labels weighted by area). Experimental, off: it did not win (`train --cutmix`'s
    # help has the figure).
    cutmix: float = 0.0
    # Stage 2: weight of a second loss that teaches the fine-tuned CNN's pooled features to predict, through a
    # linear layer used in training only, the face embedding of each training image (dlib's ResNet: it ships offline,
    # and CNN models run it for their "unknown" gate anyway). Experimental, off: it did not win (`train --distill`'s
    # help has the figure).
    distill: float = 0.0
    seed: int = 0
    device: str = "auto"
    precision: str = "auto"  # "fp32", "bf16" (autocast), or "auto": bf16 where the hardware runs it fast
    threads: Optional[int] = None
    strangers: Optional[str] = None  # a folder of photos of people the model must not name (calibrates "unknown")
    #: The identity embedder (faces/identity.py) of the model's gallery and "unknown" gate, and the features of the
    #: dlib_face backbone; None: faces.identity.training_identity's choice (dlib+faceres for a CNN's gate, dlib+sface
    #: where the vectors name faces).
    identity: Optional[str] = None

    def check(self) -> None:
        """Raise ConfigError for values that would train a broken model (the CLI checks these too)."""
        from .errors import ConfigError

        problems = []
        if self.schedule not in SCHEDULES:
            problems.append(f"--schedule must be one of {', '.join(SCHEDULES)}")
        if self.precision not in PRECISIONS:
            problems.append(f"--precision must be one of {', '.join(PRECISIONS)}")
        for name in ("epochs1", "epochs2", "patience", "patience2"):
            if getattr(self, name) < 1:
                problems.append(f"--{name} must be at least 1")
        if self.input_size is not None and not 32 <= self.input_size <= 1024:
            problems.append("--input-size must be between 32 and 1024 pixels")
        if self.batch_size < 2:
            problems.append("--batch-size must be at least 2 (batch norm needs two samples)")
        for name in ("lr1", "lr2"):
            v = getattr(self, name)
            if not (0 < v <= 1):
                problems.append(f"--{name} must be in (0, 1]")
        if not 0 <= self.act_dropout < 1:
            problems.append("--act-dropout must be in [0, 1)")
        if not 0 <= self.cutmix <= 1:
            problems.append("--cutmix must be in [0, 1]")
        if not 0 <= self.distill <= 100:
            problems.append("--distill must be in [0, 100]")
        if self.weight_decay < 0:
            problems.append("weight decay must be >= 0")
        if self.threads is not None and self.threads < 1:
            problems.append("--threads must be at least 1")
        if problems:
            raise ConfigError("; ".join(problems))
