"""Routes that name the faces in a photo: /api/predict, and /api/health (which model, which limits)."""
from __future__ import annotations

import logging

from fastapi import APIRouter, File, HTTPException, UploadFile

from ..errors import CelebfaceError
from .context import ServiceContext
from .schemas import Health, PhotoResult

log = logging.getLogger("celebface.serve")


def photo_routes(ctx: ServiceContext, auth: list) -> APIRouter:
    router = APIRouter(dependencies=auth)

    @router.get("/api/health", summary="Is the server up, and with which model", response_model=Health)
    async def health() -> Health:
        return Health(model=ctx.rec.info(), people=len(ctx.rec.classes), can_enroll=bool(ctx.rec.can_enroll),
                      token_required=bool(ctx.token), max_upload_bytes=ctx.max_upload_bytes,
                      max_pixels=ctx.max_pixels)

    @router.post("/api/predict", summary="Name every face in one photo", response_model=PhotoResult,
                 responses={401: {"description": "Missing or wrong token"},
                            413: {"description": "Upload too large, too many pixels or a decompression bomb"},
                            415: {"description": "Not an image"}})
    def predict(file: UploadFile = File(..., description="The photo (JPEG, PNG, WebP, ...)")) -> PhotoResult:
        """Faces (main face first) with box [x1, y1, x2, y2] in pixels, name ("unknown" below the
        threshold), confidence, open-set score and top-3."""
        with ctx.uploaded_photo(file) as (img, name):  # at most `workers` photos, within the pixel budget
            try:
                return ctx.rec.predict_pil(img, name)
            except CelebfaceError:
                raise  # e.g. the gallery's database is down: 503 from the app's handler
            except Exception as exc:
                log.error("prediction failed for %s", name, exc_info=exc)
                raise HTTPException(500, "internal error while naming the faces; see the server log") from None
            finally:
                del img

    return router
