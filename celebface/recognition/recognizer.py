"""Naming the faces in new photos with a trained bundle: detect -> crop -> embed -> match, each a method."""
from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Iterable, Iterator, Optional, Sequence

import numpy as np
from PIL import Image

from ..errors import ImageError
from ..faces.align import clip_box, crop_face
from ..faces.backbones import model_spec
from ..faces.detect import FaceDetector, order_faces
from ..faces.identity import LEGACY_IDENTITY, get_identity, identity_embedder
from ..faces.quality import FaceQuality, face_qualities
from ..config import WORK_SIDE
from ..io.images import ImageSource, load_image, scale_of
from ..runtime import resolve_device
from ..types import Face, FaceResult, Match, PhotoResult
from .bundle import Bundle, current_version, load_bundle
from .matchers import HeadMatcher, Matcher


class Recognizer:
    """A loaded model: detector + embedder + matcher, ready to name faces. Safe to share between threads: the
    networks keep no state between calls, so several photos are named at once (predict_many's threads, serve's
    requests); the parts made on first use are made once, under a lock; the matcher is swapped in one assignment
    when people change."""

    def __init__(self, model_dir: Path, device: str = "auto", threshold: Optional[float] = None,
                 gallery: Optional[str] = None) -> None:
        """
        :param model_dir: a folder made by `celebface train` (or `init`)
        :param device: "auto", "cpu" or "cuda"
        :param threshold: overrides the bundle's calibrated "unknown" threshold (on the model's score scale)
        :param gallery: a postgresql:// URL for the people gallery (default: MODEL_DIR's own, see gallery/)
        """
        self.model_dir = Path(model_dir)
        self.device = resolve_device(device)
        self.bundle: Bundle = load_bundle(self.model_dir)
        cfg = self.bundle.config
        self.spec = model_spec(cfg)  # at the input size it was trained on
        #: The identity embedder the model's faces are compared with (gallery, unknown gate); dlib's for models
        #: made before identities had names.
        self.identity = get_identity(cfg.get("identity") or LEGACY_IDENTITY)
        pp = cfg["preprocessing"]
        self.margin, self.crop_size = float(pp["margin"]), int(pp["crop_size"])
        self.align = bool(pp.get("align", False))  # crops aligned on the landmarks, as prepare --align cut them
        self.detector = FaceDetector(detect_size=int(pp["detect_size"]), min_prob=float(pp["min_prob"]),
                                     device=self.device)
        self._threshold, self._looked = threshold, time.monotonic()
        self._lazy_lock = threading.Lock()  # the gallery and the identity embedder are made once, on first use
        self._gallery_url, self._gallery = gallery, None
        self._face_embedder = None  # the identity embedder, made on first use for models with a CNN backbone
        self.matcher: Matcher = self._make_matcher(threshold)
        self.verifier = self._make_verifier(threshold)
        if self.names_by_gallery:  # the gallery holds identity vectors: the identity embedder is the backbone
            self.embedder = self._face_embedder = identity_embedder(self.identity.name, self.margin)
        else:
            self.embedder = self.spec.make_embedder(cfg, self.bundle.state, self.device, self.margin)

    @property
    def names_by_gallery(self) -> bool:
        """Fixed embedding backbones (dlib_face, `init` models) name people from the gallery of identity vectors."""
        return self.spec.open_set_score == "gallery" and not self.spec.fine_tunable

    def _make_matcher(self, threshold: Optional[float]) -> Matcher:
        """Fixed embedding backbones (dlib_face) name people from the gallery; CNN backbones with their head."""
        if self.names_by_gallery:
            from ..gallery.matcher import GalleryMatcher
            from .matchers import check_threshold

            if threshold is None and self.bundle.classes:  # a trained model: its threshold, calibrated on held-out
                threshold = float(self.bundle.config["threshold"])  # photos on the same cosine scale
            return GalleryMatcher(self.gallery, None if threshold is None else check_threshold(threshold, "gallery"))
        if "verify" in self.bundle.config:  # the face-verification gate decides "unknown" (recognition/verify.py)
            return HeadMatcher.from_bundle(self.bundle, "softmax", 0.0, self.device)
        return HeadMatcher.from_bundle(self.bundle, self.spec.open_set_score, threshold, self.device)

    def _make_verifier(self, threshold: Optional[float]):
        """The face-verification gate of head-named models trained with one (None for the others)."""
        verify = self.bundle.config.get("verify")
        if not verify or not isinstance(self.matcher, HeadMatcher):
            return None  # models named by the gallery are gated by it already
        from ..gallery.matcher import GalleryMatcher
        from .matchers import check_threshold
        from .verify import FaceVerifier

        t = float(verify["threshold"]) if threshold is None else check_threshold(threshold, "gallery")
        return FaceVerifier(GalleryMatcher(self.gallery, threshold=t), t)

    @property
    def gallery(self):
        """The model's people gallery (a gallery Store), opened on first use; the bundle's training faces are
        imported into it once."""
        if self._gallery is None:
            from ..gallery.attach import open_model_gallery

            with self._lazy_lock:
                if self._gallery is None:
                    self._gallery = open_model_gallery(self.model_dir, self.bundle, self._gallery_url,
                                                       self.identity.name)
        return self._gallery

    def enroll(self, name: str, photos: Sequence[ImageSource], replace: bool = False, main_face: bool = False,
               who: Optional[str] = None):
        """Add `name`'s faces from `photos` to the gallery (no training); returns an EnrolReport.

        :param replace: replace the person's faces instead of adding to them
        :param main_face: in photos with several faces, take the main one
        """
        from ..gallery.enrol import enrol

        report = enrol(self, self.gallery, name, photos, replace=replace, main_face=main_face, who=who)
        if hasattr(self.matcher, "refresh"):
            self.matcher.refresh(force=True)
        else:
            report.note = (f"the {self.spec.name} head names only the people it was trained on: {report.name} is in "
                           f"the gallery (people, forget) and is named by this model after retraining")
        return report

    def forget(self, name: str, who: Optional[str] = None, purge: bool = False):
        """Remove a person from the gallery (`undo` brings them back); returns the history row.

        :param purge: erase them for good instead: their faces (also in the trash) and linked archive sightings
        """
        change = self.gallery.forget(name, who=who, purge=purge)
        if hasattr(self.matcher, "refresh"):
            self.matcher.refresh(force=True)
        return change

    @property
    def classes(self) -> list[str]:
        return self.matcher.classes

    @property
    def threshold(self) -> float:
        """The "unknown" threshold in force (the verification gate's when the model has one)."""
        return self.verifier.threshold if self.verifier is not None else self.matcher.threshold

    @property
    def can_enroll(self) -> bool:
        """Fixed embedding backbones learn a new person from a few photos without retraining the backbone."""
        return not self.spec.fine_tunable

    def use_bundle(self, bundle: Bundle) -> None:
        """Switch to a newer bundle of the same backbone (retrained by another process): only the matcher
        changes; a gallery imports the new bundle's training faces on first use."""
        self.bundle, self._gallery = bundle, None
        self.matcher = self._make_matcher(self._threshold)
        self.verifier = self._make_verifier(self._threshold)

    def refresh(self, every: float = 1.0) -> bool:
        """Pick up a version of the model written by another process (at most one look per `every` seconds);
        returns True if the people changed."""
        now = time.monotonic()
        if now - self._looked < every:
            return False
        self._looked = now
        if current_version(self.model_dir) in ("", self.bundle.version):
            return False
        self.use_bundle(load_bundle(self.model_dir))
        return True

    def info(self) -> dict:
        cfg = self.bundle.config
        score = f"face verification ({self.identity.name} cosine similarity)" if self.verifier else cfg.get("score")
        return {"backbone": cfg["backbone"], "identity": self.identity.name, "classes": self.classes,
                "threshold": self.threshold, "score": score,
                "can_enroll": self.can_enroll, "device": self.device,
                "val_accuracy": self.bundle.metrics.get("val_accuracy")}

    def detect(self, img: Image.Image) -> list[Face]:
        """The photo's faces, main face first."""
        return order_faces(self.detector.detect(img), img.size)

    def assess(self, img: Image.Image, faces: Sequence[Face],
               second_look: Optional[Sequence[bool]] = None) -> list[FaceQuality]:
        """Each face's quality (faces/quality.py): faces with a `reason` are not to be named.

        :param second_look: per face, whether the detector looks at it again (default: every face)"""
        return face_qualities(img, faces, self.detector, second_look)

    def crop(self, img: Image.Image, faces: Sequence[Face]) -> list[Image.Image]:
        """Crops of the faces, cut as the model's training crops were (square, or aligned on the landmarks)."""
        return [crop_face(img, f.box, self.margin, self.crop_size, landmarks=f.landmarks if self.align else None,
                          points=f.landmarks) for f in faces]

    def face_crops(self, img: Image.Image) -> tuple[list[Face], list[Image.Image]]:
        """The photo's faces, main face first, and their crops."""
        faces = self.detect(img)
        return faces, self.crop(img, faces)

    def embed(self, crops: Sequence[Image.Image]) -> np.ndarray:
        """The backbone's features (N, D) of face crops."""
        return self.embedder.embed(crops)

    def face_embeddings(self, img: Image.Image) -> tuple[list[Face], np.ndarray]:
        """The photo's faces and their identity vectors (unit length), whatever the model's backbone."""
        faces, crops = self.face_crops(img)
        return faces, self.face_features(crops)

    def face_features(self, crops: Sequence[Image.Image], feats: Optional[np.ndarray] = None) -> np.ndarray:
        """Identity vectors (self.identity's; unit length, flip-averaged) of face crops, whatever the backbone.

        :param feats: the crops' backbone features, if already computed (they are the identity vectors of models
            that name by the gallery)"""
        if feats is not None and self.names_by_gallery:
            return feats
        if self._face_embedder is None:
            with self._lazy_lock:
                if self._face_embedder is None:
                    self._face_embedder = identity_embedder(self.identity.name, self.margin)
        return self._face_embedder.embed(crops)

    def classify(self, feats: np.ndarray) -> list[Match]:
        """What the matcher says of each feature row (without the verification gate: see name_crops)."""
        return self.matcher.match(feats)

    def name_crops(self, crops: Sequence[Image.Image], feats: Optional[np.ndarray] = None,
                   face_feats: Optional[np.ndarray] = None) -> list[Match]:
        """Name face crops: the backbone's features, the matcher, then the verification gate if the model has one.

        :param feats: the crops' backbone features, if already computed
        :param face_feats: their identity vectors (face_features), if already computed
        """
        feats = self.embed(crops) if feats is None else feats
        if self.verifier is None or len(feats) == 0:
            return self.classify(feats)
        face_feats = self.face_features(crops) if face_feats is None else face_feats
        fusion = self.bundle.config.get("fusion")
        if fusion:  # the fusion backbone: head and face embedding name together (recognition/fusion.py)
            from .fusion import late_fusion

            matches = late_fusion(self.matcher, self.verifier.matcher, feats, face_feats, float(fusion["temperature"]))
        else:
            matches = self.classify(feats)
        return self.verifier.apply(matches, face_feats)

    def predict_pil(self, img: Image.Image, name: str = "image") -> PhotoResult:
        """All faces of one decoded RGB photo, main face first (boxes in the full photo's pixels, also when it
        was decoded at a reduced size by load_image(max_side=...))."""
        self.refresh()
        faces, crops = self.face_crops(img)
        quality = self.assess(img, faces)
        good = [i for i, q in enumerate(quality) if q.ok]
        matches = dict(zip(good, self.name_crops([crops[i] for i in good]))) if good else {}
        scale, (width, height) = scale_of(img)
        return PhotoResult(image=name, width=width, height=height, faces=[
            face_result(f, q, matches.get(i), (width, height), scale) for i, (f, q) in enumerate(zip(faces, quality))])

    def predict_image(self, source: ImageSource, name: Optional[str] = None) -> PhotoResult:
        """Like predict_pil, from a path, bytes or array; an unreadable photo gives an `error`, never raises."""
        label = name if name is not None else (str(source) if isinstance(source, (str, Path)) else "image")
        try:
            img = load_image(source, max_side=WORK_SIDE)
        except ImageError as exc:
            return PhotoResult(image=label, error=str(exc))
        return self.predict_pil(img, label)

    def predict_video(self, path, fps: float = 2.0, **kwargs):
        """Who appears when in a video (a VideoResult); see recognition.video.predict_video for the options."""
        from .video import predict_video

        return predict_video(self, path, fps=fps, **kwargs)

    def predict_many(self, sources: Iterable[ImageSource], workers: Optional[int] = None,
                     processes: Optional[int] = None) -> Iterator[PhotoResult]:
        """One result per photo, in order; several photos are decoded and named at once (see
        predict_many_with_images).

        :param processes: worker processes naming the photos, each with its own copy of this model and one torch
            thread (recognition/photo_pool.py; each worker loads the model first, so it pays only for long jobs);
            None or 1: this process's threads"""
        from .photo_pool import pool_size, predict_in_processes

        processes = pool_size(sources, processes)
        if processes > 1:
            yield from predict_in_processes(self, sources, processes)
            return
        for result, _ in self.predict_many_with_images(sources, workers):
            yield result

    def predict_many_with_images(self, sources: Iterable[ImageSource], workers: Optional[int] = None
                                 ) -> Iterator[tuple[PhotoResult, Optional[Image.Image]]]:
        """Like predict_many, with each decoded photo (None when unreadable), e.g. to draw on it.

        :param sources: photos (paths, bytes or arrays), read lazily
        :param workers: photos decoded and named at once, by threads sharing the torch threads in force
            (runtime.ordered_thread_map); default runtime.photo_workers(): one per torch thread"""
        from ..runtime import ordered_thread_map, photo_workers

        yield from ordered_thread_map(self.read_and_name, sources, photo_workers() if workers is None else workers)

    def read_and_name(self, source: ImageSource) -> tuple[PhotoResult, Optional[Image.Image]]:
        """One photo decoded (reduced to WORK_SIDE) and named, with the decoded photo; an unreadable photo gives a
        result with its `error` and None, never raises."""
        try:
            img = load_image(source, max_side=WORK_SIDE)
        except ImageError as exc:
            return PhotoResult(image=str(source), error=str(exc)), None
        return self.predict_pil(img, str(source)), img

    @property
    def load_args(self) -> tuple[str, str, Optional[float], Optional[str]]:
        """What `load` was given (model folder, resolved device, threshold override, gallery URL): another process
        loads the same model with them."""
        return str(self.model_dir), self.device, self._threshold, self._gallery_url


def face_result(face: Face, quality: FaceQuality, match: Optional[Match], size: tuple[int, int],
                scale: float = 1.0) -> FaceResult:
    """What predict says of one face: its box clipped to the photo (in full-photo pixels), the match, or name null
    with the quality's reason and neutral figures when the face is too poor to name.

    :param size: the full photo's (width, height)
    :param scale: full-photo pixels per pixel of face.box (the photo may have been decoded at a reduced size)
    """
    box = [round(v, 1) for v in clip_box([v * scale for v in face.box], *size)]
    common = dict(box=box, detector_prob=round(face.prob, 4), quality=quality.score)
    if match is None or not quality.ok:
        return FaceResult(**common, name=None, reason=quality.reason or "not named", confidence=0.0, score=0.0,
                          top=[])
    return FaceResult(**common, name=match.name, confidence=match.confidence, score=match.score, top=match.top)


def load(model_dir: Path, device: str = "auto", threshold: Optional[float] = None,
         gallery: Optional[str] = None) -> Recognizer:
    """Load a trained model folder: `celebface.load("models/sports5").predict_image("photo.jpg")`.

    :param model_dir: a folder made by `celebface train`
    :param device: "auto", "cpu" or "cuda"
    :param threshold: overrides the bundle's "unknown" threshold
    :param gallery: a postgresql:// URL for the people gallery
    """
    return Recognizer(Path(model_dir), device, threshold, gallery)
