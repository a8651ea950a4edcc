"""Routes that name faces in photos and enrol people: /api/predict, /api/people, /api/health."""
from __future__ import annotations

import contextlib
import logging
import threading
from dataclasses import dataclass
from typing import Callable, Iterator, Optional

from fastapi import APIRouter, File, HTTPException, UploadFile

from ..errors import CelebfaceError, GalleryUnavailable
from .budget import PixelBudget
from .guard import decode_upload, header_pixels, read_upload, refused_early, upload_name
from .protocol import RecognizerLike
from .schemas import EnrolResult, Health, People, PhotoResult

log = logging.getLogger("celebface.serve")

#: Photos per enrolment request, and the longest person name accepted.
MAX_ENROL_PHOTOS = 20
MAX_PERSON_CHARS = 100


@dataclass
class ServiceContext:
    """What the routes share: the recogniser, how to enrol, the limits, and the decoding slots."""

    rec: RecognizerLike
    enroll: Optional[Callable]
    token: Optional[str]
    max_upload_bytes: int
    max_pixels: int
    slots: threading.BoundedSemaphore
    budget: PixelBudget

    @contextlib.contextmanager
    def decoding(self, data: bytes) -> Iterator[None]:
        """Hold a decoding slot and the photo's pixels in the server's budget while the body runs."""
        with self.slots:
            taken = self.budget.acquire(header_pixels(data))
            try:
                yield
            finally:
                self.budget.release(taken)


def _decode_all(ctx: ServiceContext, files: list[UploadFile]) -> tuple[list, list[str]]:
    """Decode the uploads one at a time (pixels of one photo at a time are held while it is read)."""
    labels = [upload_name(f, f"photo {i + 1}") for i, f in enumerate(files)]
    blobs = [read_upload(f, ctx.max_upload_bytes) for f in files]
    for data, label in zip(blobs, labels):
        if refused_early(data, ctx.max_pixels):
            decode_upload(data, label, ctx.max_pixels)
    images = []
    while blobs:  # one photo decoded at a time, its bytes dropped once decoded
        data = blobs.pop(0)
        with ctx.decoding(data):
            images.append(decode_upload(data, labels[len(images)], ctx.max_pixels))
    return images, labels


def _relabel(skipped: str, labels: list[str]) -> str:
    """enroll() calls in-memory photos "photo N"; use the uploaded file names instead."""
    for i, label in enumerate(labels):
        prefix = f"photo {i + 1}:"
        if skipped.startswith(prefix):
            return label + ":" + skipped[len(prefix):]
    return skipped


def _enrol(ctx: ServiceContext, name: str, files: list[UploadFile]) -> EnrolResult:
    if not ctx.rec.can_enroll or ctx.enroll is None:
        backbone = ctx.rec.info().get("backbone") or "this"
        raise HTTPException(409, f"the {backbone} model cannot enrol people without retraining; train with "
                                 f"--backbone dlib_face to enrol people from the page or API")
    if len(files) > MAX_ENROL_PHOTOS:
        raise HTTPException(422, f"{len(files)} photos sent; at most {MAX_ENROL_PHOTOS} per request")
    if len(name) > MAX_PERSON_CHARS:
        raise HTTPException(422, f"a person's name can have at most {MAX_PERSON_CHARS} characters")
    images, labels = _decode_all(ctx, files)
    try:
        summary = ctx.enroll(name, images).to_dict()
    except GalleryUnavailable:
        raise  # 503 from the app's handler
    except CelebfaceError as exc:  # EnrollError and friends: a message for the user
        raise HTTPException(422, str(exc)) from None
    finally:
        del images
    summary["skipped"] = [_relabel(s, labels) for s in summary.get("skipped", [])]
    return EnrolResult(**summary, people=list(ctx.rec.classes))


def photo_routes(ctx: ServiceContext, auth: list) -> APIRouter:
    router = APIRouter(dependencies=auth)

    @router.get("/api/health", summary="Is the server up, and with which model", response_model=Health)
    async def health() -> Health:
        return Health(model=ctx.rec.info(), people=len(ctx.rec.classes), can_enroll=bool(ctx.rec.can_enroll),
                      token_required=bool(ctx.token), max_upload_bytes=ctx.max_upload_bytes,
                      max_pixels=ctx.max_pixels)

    @router.get("/api/people", summary="The people the model knows", response_model=People)
    async def people() -> People:
        names = list(ctx.rec.classes)
        return People(people=names, count=len(names), can_enroll=bool(ctx.rec.can_enroll))

    @router.post("/api/predict", summary="Name every face in one photo", response_model=PhotoResult,
                 responses={401: {"description": "Missing or wrong token"},
                            413: {"description": "Upload too large, too many pixels or a decompression bomb"},
                            415: {"description": "Not an image"}})
    def predict(file: UploadFile = File(..., description="The photo (JPEG, PNG, WebP, ...)")) -> PhotoResult:
        """Faces (main face first) with box [x1, y1, x2, y2] in pixels, name ("unknown" below the
        threshold), confidence, open-set score and top-3."""
        name = upload_name(file)
        data = read_upload(file, ctx.max_upload_bytes)
        if refused_early(data, ctx.max_pixels):
            decode_upload(data, name, ctx.max_pixels)  # raises the 413/415 with its message at once
        with ctx.decoding(data):  # at most `workers` photos, and the server's pixel budget, at a time
            img = decode_upload(data, name, ctx.max_pixels)
            del data
            try:
                return ctx.rec.predict_pil(img, name)
            except CelebfaceError:
                raise  # e.g. the gallery's database is down: 503 from the app's handler
            except Exception as exc:
                log.error("prediction failed for %s", name, exc_info=exc)
                raise HTTPException(500, "internal error while naming the faces; see the server log") from None
            finally:
                del img

    @router.post("/api/people/{name}", summary="Enrol a person from one or more photos", response_model=EnrolResult,
                 responses={409: {"description": "This model cannot enrol people"},
                            422: {"description": "No usable face, or a name that cannot be used"}})
    def enrol(name: str, files: list[UploadFile] = File(..., description="One or more photos of the person")
              ) -> EnrolResult:
        """Add a person (or add photos to one) without retraining; only embedding backbones (dlib_face)."""
        return _enrol(ctx, name, files)

    return router
