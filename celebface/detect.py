"""Face detection with MTCNN (facenet-pytorch): all faces, the main face, square crops with a margin."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Optional

import numpy as np
from PIL import Image

#: Detection runs on a copy whose longer side is at most this many pixels; crops come from the original.
DETECT_SIZE = 800
#: Faces the detector is less sure of than this are ignored.
MIN_PROB = 0.90
#: Relative margin added on each side of the face box before cropping.
MARGIN = 0.2
#: Side of the saved square face crops, in pixels.
CROP_SIZE = 224


@dataclass
class Face:
    """One detected face: box [x1, y1, x2, y2] and 5 landmarks in original-photo pixels, detector probability."""

    box: list[float]
    prob: float
    landmarks: list[list[float]] = field(default_factory=list)

    @property
    def area(self) -> float:
        return max(0.0, self.box[2] - self.box[0]) * max(0.0, self.box[3] - self.box[1])

    def to_dict(self) -> dict:
        d = asdict(self)
        d["box"] = [round(v, 1) for v in self.box]
        d["prob"] = round(float(self.prob), 5)
        d["landmarks"] = [[round(x, 1), round(y, 1)] for x, y in self.landmarks]
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "Face":
        return cls(box=list(d["box"]), prob=float(d["prob"]), landmarks=[list(p) for p in d.get("landmarks", [])])


class FaceDetector:
    """MTCNN from facenet-pytorch (weights ship inside the package: nothing is downloaded).

    Detects on a downscaled copy of large photos and maps boxes back to the original.
    """

    def __init__(self, detect_size: int = DETECT_SIZE, min_prob: float = MIN_PROB,
                 min_face_size: int = 20, device: str = "cpu") -> None:
        from facenet_pytorch import MTCNN  # heavy import, only when a detector is made

        self.detect_size = detect_size
        self.min_prob = min_prob
        self.mtcnn = MTCNN(keep_all=True, min_face_size=min_face_size, device=device)

    def detect(self, img: Image.Image) -> list[Face]:
        """All faces in an RGB photo, most likely first, as boxes in the photo's own pixels."""
        scale = min(1.0, self.detect_size / max(img.size))
        small = img if scale >= 1.0 else img.resize(
            (max(1, round(img.width * scale)), max(1, round(img.height * scale))), Image.BILINEAR)
        if min(small.size) < 12:
            return []
        boxes, probs, points = self.mtcnn.detect(small, landmarks=True)
        if boxes is None:
            return []
        faces = []
        for box, prob, pts in zip(boxes, probs, points):
            if prob is None or prob < self.min_prob:
                continue
            faces.append(Face(box=[float(v) / scale for v in box], prob=float(prob),
                              landmarks=[[float(x) / scale, float(y) / scale] for x, y in pts]))
        faces.sort(key=lambda f: -f.prob)
        return faces


def main_face_index(faces: list[Face], image_size: tuple[int, int]) -> Optional[int]:
    """Index of the photo's main face: large, confident and near the centre (not simply the first box)."""
    if not faces:
        return None
    w, h = image_size
    diag = float(np.hypot(w, h)) or 1.0

    def score(f: Face) -> float:
        cx, cy = (f.box[0] + f.box[2]) / 2, (f.box[1] + f.box[3]) / 2
        off_centre = np.hypot(cx - w / 2, cy - h / 2) / (diag / 2)  # 0 at centre, 1 in a corner
        return np.sqrt(f.area) * f.prob * (1.0 - 0.5 * off_centre)

    return int(max(range(len(faces)), key=lambda i: score(faces[i])))


def order_faces(faces: list[Face], image_size: tuple[int, int]) -> list[Face]:
    """Faces sorted main face first, then by decreasing size."""
    if not faces:
        return []
    main = main_face_index(faces, image_size)
    rest = sorted((f for i, f in enumerate(faces) if i != main), key=lambda f: -f.area)
    return [faces[main]] + rest


def crop_face(img: Image.Image, box: list[float], margin: float = MARGIN, size: int = CROP_SIZE) -> Image.Image:
    """Square crop centred on the face box, its side the box's longer side plus `margin` on each side.

    Parts outside the photo are filled with the nearest edge pixels; the result is resized to size x size.
    """
    x1, y1, x2, y2 = box
    side = max(x2 - x1, y2 - y1) * (1.0 + 2.0 * margin)
    cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
    left, top = int(round(cx - side / 2)), int(round(cy - side / 2))
    s = max(1, int(round(side)))
    arr = np.asarray(img)
    ys = np.clip(np.arange(top, top + s), 0, img.height - 1)
    xs = np.clip(np.arange(left, left + s), 0, img.width - 1)
    # Take only the pixels needed (no full-photo copy), replicating edges where the square leaves the photo.
    patch = arr[ys[:, None], xs[None, :]]
    out = Image.fromarray(patch)
    return out.resize((size, size), Image.BICUBIC) if s != size else out


def face_box_in_crop(margin: float = MARGIN, size: int = CROP_SIZE) -> tuple[int, int, int, int]:
    """Where the face box sits in every crop made by crop_face (the central square)."""
    inner = size / (1.0 + 2.0 * margin)
    off = (size - inner) / 2
    return int(round(off)), int(round(off)), int(round(off + inner)), int(round(off + inner))
