"""Routes for people: the list, enrolling, one person, forget, rename, history, undo, and comparing two photos.

Errors are raised as celebface errors and answered by the app's handler with the status of their class
(service/status.py): 404 unknown person, 409 name taken, 503 gallery unreachable, else 422. Changes need the
token when the server has one.
"""
from __future__ import annotations

from typing import Any, Optional

from fastapi import APIRouter, Body, File, HTTPException, Request, UploadFile
from pydantic import BaseModel, Field

from ..errors import PersonNotFound
from ..gallery.names import validate_name
from .context import ServiceContext
from .guard import decode_upload, read_upload, refused_early, upload_name
from .schemas import EnrolResult, People

#: Photos per enrolment request (a name's limit is the gallery's, gallery.names.MAX_NAME, as in the CLI).
MAX_ENROL_PHOTOS = 20


class PersonOut(BaseModel):
    name: str
    faces: int
    created: float = Field(description="Unix time")
    updated: float = Field(description="Unix time")
    metadata: dict = Field(default_factory=dict)


class ChangeOut(BaseModel):
    id: int
    at: float
    who: str
    action: str
    name: str
    summary: str
    undone_by: Optional[int] = None


class ComparisonOut(BaseModel):
    same: bool
    similarity: float = Field(description="Cosine similarity of the two main faces, -1..1")
    distance: float = Field(description="Euclidean distance of the unit embeddings")
    threshold: float


def _who(request: Request) -> str:
    return f"api ({request.client.host if request.client else 'unknown client'})"


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
    name = validate_name(name)  # before any photo is decoded
    images, labels = ctx.decode_all(files)
    try:
        summary = ctx.enroll(name, images).to_dict()
    finally:
        del images
    summary["skipped"] = [_relabel(s, labels) for s in summary.get("skipped", [])]
    return EnrolResult(**summary, people=list(ctx.rec.classes))


def _compare(ctx: ServiceContext, a: UploadFile, b: UploadFile) -> ComparisonOut:
    """Both photos' pixels are held in the server's pixel budget (and one decoding slot) while they are compared."""
    from ..gallery.api import compare

    blobs = [read_upload(f, ctx.max_upload_bytes) for f in (a, b)]
    labels = [upload_name(f, label) for f, label in ((a, "a"), (b, "b"))]
    for data, label in zip(blobs, labels):
        if refused_early(data, ctx.max_pixels):
            decode_upload(data, label, ctx.max_pixels)  # its 413/415 at once, without waiting for room
    with ctx.decoding(*blobs):
        imgs = [decode_upload(data, label, ctx.max_pixels) for data, label in zip(blobs, labels)]
        del blobs
        return ComparisonOut(**compare(imgs[0], imgs[1], embedder=ctx.rec).to_dict())


def _gallery_routes(router: APIRouter, ctx: ServiceContext) -> None:
    """One person, forget, rename, history, undo and compare: only for a recogniser with a gallery (an embedder)."""
    gallery: Any = ctx.rec.gallery  # type: ignore[attr-defined]

    @router.get("/api/people/{name}", summary="One person: face count and dates", response_model=PersonOut,
                responses={404: {"description": "No such person"}})
    def person(name: str) -> PersonOut:
        name = validate_name(name)
        found = [p for p in gallery.people() if p.name == name]
        if not found:
            raise PersonNotFound(f"no person named {name!r} in the gallery")
        return PersonOut(**found[0].to_dict())

    @router.delete("/api/people/{name}", summary="Forget a person (undo brings them back; purge=true erases them and "
                   "their archive sightings for good)", response_model=ChangeOut,
                   responses={404: {"description": "No such person"}})
    def forget(name: str, request: Request, purge: bool = False) -> ChangeOut:
        return ChangeOut(**gallery.forget(name, who=_who(request), purge=purge).to_dict())

    @router.patch("/api/people/{name}", summary="Rename a person", response_model=ChangeOut,
                  responses={404: {"description": "No such person"}, 409: {"description": "The name is taken"}})
    def rename(name: str, request: Request, new_name: str = Body(..., embed=True, alias="name")) -> ChangeOut:
        return ChangeOut(**gallery.rename(name, new_name, who=_who(request)).to_dict())

    @router.get("/api/history", summary="Changes to the people, newest first", response_model=list[ChangeOut])
    def history(limit: int = 50) -> list[ChangeOut]:
        return [ChangeOut(**c.to_dict()) for c in gallery.history(max(1, min(limit, 1000)))]

    @router.post("/api/undo", summary="Take back the latest change to the people", response_model=ChangeOut)
    def undo(request: Request) -> ChangeOut:
        return ChangeOut(**gallery.undo(who=_who(request)).to_dict())

    @router.post("/api/compare", summary="Are the main faces of two photos the same person?",
                 response_model=ComparisonOut)
    def compare(a: UploadFile = File(...), b: UploadFile = File(...)) -> ComparisonOut:
        return _compare(ctx, a, b)


def people_routes(ctx: ServiceContext, auth: list) -> APIRouter:
    """The router; `ctx` is the app's ServiceContext, `auth` its token check."""
    router = APIRouter(dependencies=auth)

    @router.get("/api/people", summary="The people the model knows", response_model=People)
    async def people() -> People:
        names = list(ctx.rec.classes)
        return People(people=names, count=len(names), can_enroll=bool(ctx.rec.can_enroll))

    @router.post("/api/people/{name}", summary="Enrol a person from one or more photos", response_model=EnrolResult,
                 responses={409: {"description": "This model cannot enrol people, or the name is taken"},
                            422: {"description": "No usable face, or a name that cannot be used"}})
    def enrol(name: str, files: list[UploadFile] = File(..., description="One or more photos of the person")
              ) -> EnrolResult:
        """Add a person (or add photos to one) without retraining; only embedding backbones (dlib_face)."""
        return _enrol(ctx, name, files)

    if hasattr(ctx.rec, "gallery"):
        _gallery_routes(router, ctx)
    return router
