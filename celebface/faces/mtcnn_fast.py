"""MTCNN with batched resampling: facenet-pytorch's networks and steps, the same boxes and landmarks, less time.

facenet-pytorch 2.5.3's `detect_face` resamples each candidate box of the second and third stage with its own
`interpolate(mode="area")` call (one `adaptive_avg_pool2d` per box, about 130 a photo); here all the crops of a
stage, and each level of the first stage's pyramid, are read from one summed-area table of the photo in one
batched gather. A photo's pixels are whole numbers, so every box sum is exact and each output pixel is the very
float that `adaptive_avg_pool2d` gives (sum / rows / columns in float32): the networks see the same inputs and
find the same faces (tests/unit/test_mtcnn_fast.py; bench/mtcnn_equal.py checks every sample photo).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Sequence

import numpy as np

#: Candidates run through RNet (24 x 24) and ONet (48 x 48) at a time (facenet-pytorch: 512). Small batches keep
#: each layer's activations small (RNet's first: 54 KB a candidate, ONet's: 271 KB): in a fresh process, one thread,
#: 256 candidates through RNet took 26-27 ms in batches of 512 and 13-14 ms in batches of 64, 64 through ONet 37 ms
#: and 21-22 ms in batches of 16; in a warm predict (40 sports5 photos, one thread) RNet's stage fell 1.06 -> 0.95 s,
#: as most of the first gain was fresh memory being mapped, which a warm process reuses. A candidate's outputs do
#: not depend on its batch (bench/mtcnn_equal.md).
RNET_BATCH, ONET_BATCH = 64, 16


@dataclass
class Detections:
    """The faces MTCNN found in one image, most probable first as facenet-pytorch orders them.

    boxes: (n, 4) float32 [x1, y1, x2, y2]; probs: (n,) float32; points: (n, 5, 2) float32 landmarks (left eye,
    right eye, nose, mouth left, mouth right), all in the image's pixels.
    """

    boxes: np.ndarray
    probs: np.ndarray
    points: np.ndarray

    def __len__(self) -> int:
        return len(self.boxes)


@dataclass
class Candidates:
    """Boxes between two stages: (n, 5+) float tensor [x1, y1, x2, y2, score, ...] and the image each is in."""

    boxes: "torch.Tensor"  # noqa: F821
    image_inds: "torch.Tensor"  # noqa: F821


def summed_area(imgs: "torch.Tensor") -> "torch.Tensor":  # noqa: F821
    """Summed-area table of a batch of whole-number images: (B, H, W, C) -> (B, H+1, W+1, C) int32 (int64 for
    images too large for int32 sums), with a zero first row and column: any box's sum is 4 exact look-ups."""
    import torch

    b, h, w, c = imgs.shape
    dtype = torch.int32 if h * w * 255 < 2 ** 31 else torch.int64
    table = torch.zeros((b, h + 1, w + 1, c), dtype=dtype, device=imgs.device)
    table[:, 1:, 1:] = imgs.to(dtype).cumsum(1, dtype=dtype).cumsum(2, dtype=dtype)
    return table


def _bins(length: "torch.Tensor", size: int):  # noqa: F821
    """adaptive_avg_pool2d's bins along one axis of n crops of `length` pixels: first index, end index
    (exclusive) and pixel count of each of `size` bins, relative to the crop's start."""
    import torch

    i = torch.arange(size, device=length.device)
    lo = torch.div(i[None] * length[:, None], size, rounding_mode="floor")
    hi = torch.div((i[None] + 1) * length[:, None] + size - 1, size, rounding_mode="floor")
    return lo, hi, (hi - lo).to(torch.float32)


def _average(total: "torch.Tensor", kh: "torch.Tensor", kw: "torch.Tensor") -> "torch.Tensor":  # noqa: F821
    """Bin sums (n, h, w, C) to means as adaptive_avg_pool2d computes them: float32 sum / rows / columns; returns
    (n, C, h, w) channels-last. The sums are whole numbers below 2**24, so the float32 sum is exact."""
    import torch

    return (total.to(torch.float32) / kh[:, :, None, None] / kw[:, None, :, None]).permute(0, 3, 1, 2)


def area_resize(table: "torch.Tensor", size: tuple[int, int]) -> "torch.Tensor":  # noqa: F821
    """Every image of the table resized to `size` (h, w) as `interpolate(imgs, size, mode="area")` does (the
    same floats), from row and column look-ups: (B, C, h, w) float32, channels-last.

    :param table: summed_area of the images
    :param size: the output's (height, width)
    """
    import torch

    b, hp, wp, _ = table.shape
    one = torch.ones(1, dtype=torch.long, device=table.device)
    rs, re, kh = _bins(one * (hp - 1), size[0])
    cs, ce, kw = _bins(one * (wp - 1), size[1])
    rows = table.index_select(1, re[0]) - table.index_select(1, rs[0])  # (B, h, W+1, C): sums over each bin's rows
    total = rows.index_select(2, ce[0]) - rows.index_select(2, cs[0])
    return _average(total, kh.expand(b, -1), kw.expand(b, -1))


def area_resample(table: "torch.Tensor", image_inds: "torch.Tensor", y0: "torch.Tensor", y1: "torch.Tensor",
                  x0: "torch.Tensor", x1: "torch.Tensor", size: int) -> "torch.Tensor":  # noqa: F821
    """Rows [y0, y1) and columns [x0, x1) of image image_inds[k], for every k, resampled to size x size as
    `interpolate(crop, size, mode="area")` does (the same floats), in one gather. Returns (n, C, size, size)
    float32, channels-last.

    :param table: summed_area of the images
    :param image_inds: (n,) which image each crop is cut from
    :param y0: (n,) first row; y1: end row; x0: first column; x1: end column (int64 tensors)
    :param size: side of the output
    """
    _, hp, wp, c = table.shape
    rs, re, kh = _bins(y1 - y0, size)
    cs, ce, kw = _bins(x1 - x0, size)
    base = (image_inds * hp + y0)[:, None]
    flat = table.reshape(-1, c)

    def at(r, col):
        rows = ((base + r) * wp + x0[:, None])[:, :, None]
        return flat.index_select(0, (rows + col[:, None, :]).reshape(-1)).reshape(len(y0), size, size, c)

    return _average(at(re, ce) - at(rs, ce) - at(re, cs) + at(rs, cs), kh, kw)


def pyramid_scales(h: int, w: int, min_face_size: float, factor: float) -> list[float]:
    """The first stage's scales, as facenet-pytorch computes them (smallest detectable face -> 12 px)."""
    m = 12.0 / min_face_size
    minl = min(h, w) * m
    scales, scale = [], m
    while minl >= 12:
        scales.append(scale)
        scale *= factor
        minl *= factor
    return scales


class BatchedMTCNN:
    """MTCNN (Zhang et al. 2016) on facenet-pytorch's PNet, RNet and ONet weights (shipped inside the package:
    nothing is downloaded), with each stage's crops resampled in one batched call.

    The same steps and thresholds as facenet_pytorch.MTCNN(keep_all=True).detect: PNet over an image pyramid,
    non-maximum suppression, RNet on 24x24 crops of the candidates, ONet on 48x48 crops for the final boxes,
    probabilities and 5 landmarks.

    :param min_face_size: smallest face searched for, in pixels (sets the pyramid's first scale)
    :param thresholds: probability thresholds of PNet, RNet and ONet
    :param factor: scale step of the pyramid
    :param device: torch device the networks run on ("cpu", "cuda", "cuda:1")
    :param channels_last: run the networks with channels-last weights (None: on CPU only, where it saves about
        30% of their time with the same results)
    """

    def __init__(self, min_face_size: int = 20, thresholds: Sequence[float] = (0.6, 0.7, 0.7),
                 factor: float = 0.709, device: str = "cpu", channels_last: Optional[bool] = None) -> None:
        import torch
        from facenet_pytorch.models.mtcnn import ONet, PNet, RNet

        self.min_face_size, self.thresholds, self.factor = min_face_size, tuple(thresholds), factor
        self.device = torch.device(device)
        self.pnet, self.rnet, self.onet = (net.to(self.device).eval() for net in (PNet(), RNet(), ONet()))
        if channels_last if channels_last is not None else self.device.type == "cpu":
            for net in (self.pnet, self.rnet, self.onet):
                net.to(memory_format=torch.channels_last)

    def detect(self, imgs, min_face_size: Optional[float] = None) -> list[Detections]:
        """The faces of each image (all images of one size: PIL images, or (B, H, W, 3) uint8 arrays).

        :param imgs: one PIL image, a list of same-size PIL images, or an array of them
        :param min_face_size: smallest face searched for in these images (None: the detector's own)
        """
        import torch

        batch = self.to_tensor(imgs)
        with torch.inference_mode():
            table = summed_area(batch)
            found = self.stage_pnet(table, batch.shape[1], batch.shape[2], min_face_size or self.min_face_size)
            found = self.stage_rnet(table, found, batch.shape[1], batch.shape[2])
            boxes, points, inds = self.stage_onet(table, found, batch.shape[1], batch.shape[2])
        return split_by_image(boxes, points, inds, batch.shape[0])

    def to_tensor(self, imgs) -> "torch.Tensor":  # noqa: F821
        """(B, H, W, 3) float32 tensor of whole-number pixel values on the device."""
        import torch

        if not isinstance(imgs, (list, tuple, np.ndarray)):
            imgs = [imgs]
        arr = np.stack([np.asarray(im, dtype=np.uint8) for im in imgs]) if isinstance(imgs, (list, tuple)) \
            else np.asarray(imgs, dtype=np.uint8)
        if arr.ndim == 3:
            arr = arr[None]
        return torch.as_tensor(arr, device=self.device).to(torch.float32)

    def stage_pnet(self, table, h: int, w: int, min_face_size: float) -> Candidates:
        """PNet over the pyramid: candidate boxes after NMS within each scale (0.5) and each image (0.7),
        refined by PNet's regression and squared (facenet-pytorch's first stage).

        :param min_face_size: smallest face searched for (sets the pyramid's first scale)"""
        import torch
        from facenet_pytorch.models.utils.detect_face import generateBoundingBox, rerec
        from torchvision.ops.boxes import batched_nms

        boxes, inds = [], []
        for scale in pyramid_scales(h, w, min_face_size, self.factor):
            level = area_resize(table, (int(h * scale + 1), int(w * scale + 1)))
            reg, probs = self.pnet((level - 127.5) * 0.0078125)
            b, i = generateBoundingBox(reg, probs[:, 1], scale, self.thresholds[0])
            pick = batched_nms(b[:, :4], b[:, 4], i, 0.5)
            boxes.append(b[pick])
            inds.append(i[pick])
        boxes, inds = torch.cat(boxes), torch.cat(inds)
        pick = batched_nms(boxes[:, :4], boxes[:, 4], inds, 0.7)
        boxes, inds = boxes[pick], inds[pick]
        regw, regh = boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1]
        refined = torch.stack([boxes[:, 0] + boxes[:, 5] * regw, boxes[:, 1] + boxes[:, 6] * regh,
                               boxes[:, 2] + boxes[:, 7] * regw, boxes[:, 3] + boxes[:, 8] * regh, boxes[:, 4]], 1)
        return Candidates(rerec(refined), inds)

    def crops(self, table, found: Candidates, h: int, w: int, size: int):
        """The candidates' squares cut from their images (clipped to the image, as facenet-pytorch's `pad`),
        resampled to size x size and normalised; returns them and a mask of the candidates kept (a box wholly
        outside its image has no crop)."""
        import torch

        b = found.boxes[:, :4].trunc().to(torch.long)
        x0, y0 = b[:, 0].clamp(min=1) - 1, b[:, 1].clamp(min=1) - 1
        x1, y1 = b[:, 2].clamp(max=w), b[:, 3].clamp(max=h)
        keep = (y1 > y0) & (x1 > x0)
        data = area_resample(table, found.image_inds[keep], y0[keep], y1[keep], x0[keep], x1[keep], size)
        return (data - 127.5) * 0.0078125, keep

    def stage_rnet(self, table, found: Candidates, h: int, w: int) -> Candidates:
        """RNet on 24x24 crops of all candidates in one batch: those above its threshold, after NMS (0.7),
        refined by its regression and squared."""
        from facenet_pytorch.models.utils.detect_face import bbreg, rerec
        from torchvision.ops.boxes import batched_nms
        import torch

        if len(found.boxes) == 0:
            return found
        data, keep = self.crops(table, found, h, w, 24)
        boxes, inds = found.boxes[keep], found.image_inds[keep]
        reg, prob = _run_batched(self.rnet, data, RNET_BATCH)
        score = prob[:, 1]
        ok = score > self.thresholds[1]
        boxes = torch.cat((boxes[ok, :4], score[ok].unsqueeze(1)), dim=1)
        inds, reg = inds[ok], reg[ok]
        pick = batched_nms(boxes[:, :4], boxes[:, 4], inds, 0.7)
        return Candidates(rerec(bbreg(boxes[pick], reg[pick])), inds[pick])

    def stage_onet(self, table, found: Candidates, h: int, w: int):
        """ONet on 48x48 crops of RNet's boxes in one batch: the final boxes (with probability), 5 landmarks
        each and their image, after the "Min" NMS (0.7) of facenet-pytorch."""
        import torch
        from facenet_pytorch.models.utils.detect_face import batched_nms_numpy, bbreg

        if len(found.boxes) == 0:
            return found.boxes[:, :5], torch.zeros((0, 5, 2), device=self.device), found.image_inds
        data, keep = self.crops(table, found, h, w, 48)
        boxes, inds = found.boxes[keep], found.image_inds[keep]
        reg, pts, prob = _run_batched(self.onet, data, ONET_BATCH)
        score = prob[:, 1]
        ok = score > self.thresholds[2]
        boxes = torch.cat((boxes[ok, :4], score[ok].unsqueeze(1)), dim=1)
        inds, reg, pts = inds[ok], reg[ok], pts[ok].T
        w_i = boxes[:, 2] - boxes[:, 0] + 1
        h_i = boxes[:, 3] - boxes[:, 1] + 1
        px = w_i.repeat(5, 1) * pts[:5, :] + boxes[:, 0].repeat(5, 1) - 1
        py = h_i.repeat(5, 1) * pts[5:10, :] + boxes[:, 1].repeat(5, 1) - 1
        points = torch.stack((px, py)).permute(2, 1, 0)
        boxes = bbreg(boxes, reg)
        pick = batched_nms_numpy(boxes[:, :4], boxes[:, 4], inds, 0.7, "Min")
        return boxes[pick], points[pick], inds[pick]


def _run_batched(net, data, batch_size: int):
    """The network's outputs over `data` in batches of at most batch_size (facenet-pytorch: 512; here smaller, see
    RNET_BATCH)."""
    import torch

    outs = [net(data[i:i + batch_size]) for i in range(0, len(data), batch_size)]
    return tuple(torch.cat(parts, dim=0) for parts in zip(*outs))


def split_by_image(boxes, points, inds, n: int) -> list[Detections]:
    """The final boxes, probabilities and landmarks of each of n images (facenet-pytorch's order within one)."""
    b, p, i = boxes.cpu().numpy(), points.cpu().numpy(), inds.cpu().numpy()
    out = []
    for k in range(n):
        mine = i == k
        out.append(Detections(boxes=b[mine, :4].astype(np.float32), probs=b[mine, 4].astype(np.float32),
                              points=p[mine].astype(np.float32).reshape(-1, 5, 2)))
    return out
