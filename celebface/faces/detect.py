"""Face detection with MTCNN (facenet-pytorch's networks, batched stages: faces/mtcnn_fast.py): all faces of a
photo, and which one is the main face."""
from __future__ import annotations

from typing import Optional, Sequence

import numpy as np
from PIL import Image

from ..config import DETECT_SIZE, MIN_PROB
from ..types import Face

#: Side of the crop a face is detected again in (FaceDetector.confirm).
RECHECK_SIZE = 160
#: Pyramid levels of MTCNN's first stage the second look skips: the face fills half of its crop (80 px of 160), so
#: the two finest levels, which search for faces of 20 to 40 px, are left out (about 40% of the second look's time);
#: the levels kept have the scales they have in a full search.
RECHECK_SKIP_LEVELS = 2

class FaceDetector:
    """MTCNN on facenet-pytorch's weights (shipped inside the package: nothing is downloaded), run by
    faces.mtcnn_fast.BatchedMTCNN: the same faces as facenet_pytorch.MTCNN, each stage's crops resampled in one
    batched call instead of one call per candidate box.

    Detects on a downscaled copy of large photos and maps boxes back to the original. On CPU the three networks
    run with channels-last weights: the same boxes in about 30% less time.

    :param detect_size: photos whose longer side is larger are detected on a copy shrunk to this side
    :param min_prob: faces less probable than this are dropped
    :param min_face_size: smallest face MTCNN searches for, in pixels of the (shrunk) copy
    :param device: torch device the networks run on
    """

    def __init__(self, detect_size: int = DETECT_SIZE, min_prob: float = MIN_PROB,
                 min_face_size: int = 20, device: str = "cpu") -> None:
        from .mtcnn_fast import BatchedMTCNN  # heavy import (torch), only when a detector is made

        self.detect_size = detect_size
        self.min_prob = min_prob
        self.mtcnn = BatchedMTCNN(min_face_size=min_face_size, device=device)

    def detect(self, img: Image.Image) -> list[Face]:
        """All faces in an RGB photo, most likely first, as boxes in the photo's own pixels."""
        small, scale = self.shrink(img)
        if min(small.size) < 12:
            return []
        found = self.mtcnn.detect(small)[0]
        faces = []
        for box, prob, pts in zip(found.boxes, found.probs, found.points):
            if prob < self.min_prob:
                continue
            faces.append(Face(box=[float(v) / scale for v in box], prob=float(prob),
                              landmarks=[[float(x) / scale, float(y) / scale] for x, y in pts]))
        faces.sort(key=lambda f: (-f.prob, -f.area))
        return faces

    def shrink(self, img: Image.Image) -> tuple[Image.Image, float]:
        """The copy of the photo detection runs on (shrunk to detect_size, bilinear) and its scale."""
        scale = min(1.0, self.detect_size / max(img.size))
        if scale >= 1.0:
            return img, 1.0
        return img.resize((max(1, round(img.width * scale)), max(1, round(img.height * scale))),
                          Image.BILINEAR), scale

    def confirm(self, img: Image.Image, face: Face) -> float:
        """MTCNN's probability for the face when detected again in a square crop around it (a second look).

        The crop (the box plus half its side on each side, RECHECK_SIZE pixels, grey outside the photo) gives the
        detector another scale and context: most false detections (hands, balls, fences) are not found again,
        real faces are (bench/quality.md). Returns the best probability of a box centred near the crop's centre.

        :param img: the photo the face was found in
        :param face: the detected face, in img's pixels
        """
        return self.confirm_all(img, [face])[0]

    def confirm_all(self, img: Image.Image, faces: Sequence[Face]) -> list[float]:
        """`confirm` for several faces of one photo, their crops detected in one batch (the crops all have one
        size, so MTCNN runs each stage once for all of them: about a third less time than one at a time).

        :param img: the photo the faces were found in
        :param faces: detected faces, in img's pixels
        """
        from .align import crop_face

        if not faces:
            return []
        crops = [crop_face(img, face.box, margin=0.5, size=RECHECK_SIZE, pad="constant") for face in faces]
        found = self.mtcnn.detect(crops, min_face_size=self.recheck_min_face())
        return [_best_centred(f.boxes, f.probs) for f in found]

    def recheck_min_face(self) -> float:
        """The smallest face the second look searches for in its crops (RECHECK_SKIP_LEVELS levels coarser than
        the detector's own)."""
        return self.mtcnn.min_face_size / self.mtcnn.factor ** RECHECK_SKIP_LEVELS


def _best_centred(boxes: np.ndarray, probs: np.ndarray) -> float:
    """The best probability of a box of a second-look crop centred near the crop's centre (0.0 if none)."""
    lo, hi = RECHECK_SIZE * 5 / 16, RECHECK_SIZE * 11 / 16  # the face box spans [1/4, 3/4] of the crop
    near = [float(p) for b, p in zip(boxes, probs)
            if lo < (b[0] + b[2]) / 2 < hi and lo < (b[1] + b[3]) / 2 < hi]
    return max(near, default=0.0)


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
