"""Naming the faces in new photos with a trained bundle: every face, its box, name, confidence and top-3."""
from __future__ import annotations

import threading
from pathlib import Path
from typing import Iterable, Iterator, Optional, Sequence

import numpy as np
import torch
from PIL import Image

from .backbones import build_backbone, get_spec
from .bundle import Bundle, load_bundle
from .detect import Face, FaceDetector, crop_face, order_faces
from .features import resolve_device, to_tensor
from .images import ImageError, ImageSource, load_image
from .model import make_head
from .openset import gallery_scores

UNKNOWN = "unknown"


class Recognizer:
    """A loaded model: detector + backbone + head, ready to name faces. Safe to share between threads."""

    def __init__(self, model_dir: Path, device: str = "auto", threshold: Optional[float] = None) -> None:
        self.model_dir = Path(model_dir)
        self.device = resolve_device(device)
        self.bundle: Bundle = load_bundle(self.model_dir)
        cfg = self.bundle.config
        self.spec = get_spec(cfg["backbone"])
        self.threshold = float(cfg["threshold"] if threshold is None else threshold)
        pp = cfg["preprocessing"]
        self.margin, self.crop_size = float(pp["margin"]), int(pp["crop_size"])
        self.detector = FaceDetector(detect_size=int(pp["detect_size"]), min_prob=float(pp["min_prob"]),
                                     device=self.device)
        self._lock = threading.Lock()
        self._build_head()
        self._build_backbone()

    def _build_head(self) -> None:
        cfg, state = self.bundle.config, self.bundle.state
        self.head = make_head(cfg["head"], int(cfg["feature_dim"]), len(cfg["classes"]))
        self.head.load_state_dict({k[5:]: v for k, v in state.items() if k.startswith("head.")})
        self.head.eval().to(self.device)

    def _build_backbone(self) -> None:
        cfg, state = self.bundle.config, self.bundle.state
        self.backbone = None
        self.embedder = None
        if self.spec.kind == "cnn":
            self.backbone, _ = build_backbone(self.spec.name, depth=int(cfg["backbone_depth"]), load=False)
            self.backbone.load_state_dict({k[9:]: v for k, v in state.items() if k.startswith("backbone.")})
            self.backbone.eval().to(self.device)
        else:
            from .faceembed import DlibEmbedder

            self.embedder = DlibEmbedder(self.margin)

    @property
    def classes(self) -> list[str]:
        return self.bundle.classes

    @property
    def can_enroll(self) -> bool:
        """Embedding backbones can learn a new person from a few photos without retraining the backbone."""
        return self.spec.kind == "embedding"

    def use_bundle(self, bundle: Bundle) -> None:
        """Switch to a bundle with the same backbone but other people (after enrolment): only the head changes."""
        self.bundle = bundle
        self._build_head()

    def face_crops(self, img: Image.Image) -> tuple[list[Face], list[Image.Image]]:
        """The photo's faces, main face first, and their square crops as the model was trained on."""
        faces = order_faces(self.detector.detect(img), img.size)
        return faces, [crop_face(img, f.box, self.margin, self.crop_size) for f in faces]

    def enroll(self, name: str, photos: Sequence[ImageSource]) -> dict:
        """Add or update a person from a few photos (embedding backbones only); the bundle is rewritten."""
        from .enroll import enroll

        return enroll(self, name, photos)

    def info(self) -> dict:
        cfg = self.bundle.config
        return {"backbone": cfg["backbone"], "classes": self.classes, "threshold": self.threshold,
                "score": cfg.get("score"), "can_enroll": self.can_enroll, "device": self.device,
                "val_accuracy": self.bundle.metrics.get("val_accuracy")}

    @torch.inference_mode()
    def features(self, crops: Sequence[Image.Image]) -> np.ndarray:
        """Backbone features (N, D) of square face crops."""
        if not crops:
            return np.zeros((0, int(self.bundle.config["feature_dim"])), np.float32)
        if self.embedder is not None:
            return self.embedder.embed(crops)
        assert self.backbone is not None
        x = to_tensor(crops, self.spec).to(self.device)
        return self.backbone(x).float().cpu().numpy()

    @torch.inference_mode()
    def classify(self, feats: np.ndarray) -> list[dict]:
        """Name, confidence, open-set score and top-3 for each feature row."""
        if len(feats) == 0:
            return []
        probs = self.head(torch.from_numpy(feats).float().to(self.device)).softmax(1).cpu().numpy()
        pred = probs.argmax(1)
        if self.spec.kind == "embedding":
            score = gallery_scores(feats, self.bundle.gallery, self.bundle.gallery_labels, pred)
        else:
            score = probs.max(1)
        out = []
        for p, k, s in zip(probs, pred, score):
            top = np.argsort(-p)[:3]
            known = bool(s >= self.threshold)
            out.append({"name": self.classes[k] if known else UNKNOWN, "confidence": round(float(p[k]), 4),
                        "score": round(float(s), 4),
                        "top": [[self.classes[i], round(float(p[i]), 4)] for i in top]})
        return out

    def predict_pil(self, img: Image.Image, name: str = "image") -> dict:
        """All faces of one decoded RGB photo, main face first, as the JSON object `predict --json` prints."""
        with self._lock:
            faces, crops = self.face_crops(img)
            results = self.classify(self.features(crops))
        return {"image": name, "width": img.width, "height": img.height,
                "faces": [{"box": [round(v, 1) for v in f.box], "detector_prob": round(f.prob, 4), **r}
                          for f, r in zip(faces, results)], "error": None}

    def predict_image(self, source: ImageSource, name: Optional[str] = None) -> dict:
        """Like predict_pil, from a path, bytes or array; an unreadable photo gives an "error", never raises."""
        label = name if name is not None else (str(source) if isinstance(source, (str, Path)) else "image")
        try:
            img = load_image(source)
        except ImageError as exc:
            return {"image": label, "faces": [], "error": str(exc)}
        return self.predict_pil(img, label)

    def predict_many(self, sources: Iterable[ImageSource]) -> Iterator[dict]:
        """One result per photo, in order; photos are decoded in a background thread while faces are named."""
        for result, _ in self.predict_many_with_images(sources):
            yield result

    def predict_many_with_images(self, sources: Iterable[ImageSource]) -> Iterator[tuple[dict, Optional[Image.Image]]]:
        """Like predict_many, with each decoded photo (None when unreadable), e.g. to draw on it."""
        from concurrent.futures import ThreadPoolExecutor

        def decode(src: ImageSource):
            try:
                return src, load_image(src), None
            except ImageError as exc:
                return src, None, str(exc)

        with ThreadPoolExecutor(1) as pool:
            for src, img, err in pool.map(decode, sources):
                label = str(src)
                if img is None:
                    yield {"image": label, "faces": [], "error": err}, None
                else:
                    yield self.predict_pil(img, label), img


def load(model_dir: Path, device: str = "auto", threshold: Optional[float] = None) -> Recognizer:
    """Load a trained model folder: `celebface.load("models/sports5").predict_image("photo.jpg")`."""
    return Recognizer(Path(model_dir), device, threshold)


def annotate(img: Image.Image, result: dict) -> Image.Image:
    """A copy of the photo with each face's box and name drawn on it."""
    from PIL import ImageDraw, ImageFont

    out = img.copy()
    draw = ImageDraw.Draw(out)
    width = max(2, round(max(img.size) / 300))
    try:
        font = ImageFont.load_default(size=max(12, round(max(img.size) / 40)))
    except TypeError:  # older Pillow
        font = ImageFont.load_default()
    for face in result["faces"]:
        x1, y1, x2, y2 = face["box"]
        color = (230, 60, 60) if face["name"] == UNKNOWN else (40, 200, 90)
        draw.rectangle([x1, y1, x2, y2], outline=color, width=width)
        label = f"{face['name']} {face['confidence']:.2f}"
        tb = draw.textbbox((x1, y1), label, font=font)
        ty = y1 - (tb[3] - tb[1]) - 4 if y1 - (tb[3] - tb[1]) - 4 > 0 else y2 + 2
        draw.rectangle([x1, ty, x1 + (tb[2] - tb[0]) + 6, ty + (tb[3] - tb[1]) + 4], fill=color)
        draw.text((x1 + 3, ty), label, fill=(255, 255, 255), font=font)
    return out
