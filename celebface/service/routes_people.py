"""Routes for the people gallery: one person, forget, rename, history, undo, and comparing two photos.

GET /api/people and POST /api/people/{name} (enrol) live in routes_photos and reach the gallery through the
recogniser. Changes need the token when the server has one; a gallery that cannot be reached answers 503.
"""
from __future__ import annotations

from typing import Any, Callable, Optional

from fastapi import APIRouter, Body, File, HTTPException, Request, UploadFile
from pydantic import BaseModel, Field

from ..errors import CelebfaceError, GalleryUnavailable
from .guard import decode_upload, read_upload, upload_name


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


def _call(fn: Callable, *args: Any, **kwargs: Any) -> Any:
    """Gallery errors as HTTP answers: 503 unreachable, 404 unknown person, 409 name taken, else 422."""
    try:
        return fn(*args, **kwargs)
    except GalleryUnavailable as exc:
        raise HTTPException(503, str(exc)) from None
    except CelebfaceError as exc:
        msg = str(exc)
        code = 404 if msg.startswith("no person named") else 409 if "already in the gallery" in msg else 422
        raise HTTPException(code, msg) from None


def _who(request_host: Optional[str]) -> str:
    return f"api ({request_host or 'unknown client'})"


def people_routes(ctx: Any, auth: list) -> APIRouter:
    """The router; `ctx` is the app's ServiceContext (rec with .gallery, limits), `auth` its token check."""

    router = APIRouter(dependencies=auth)

    @router.get("/api/people/{name}", summary="One person: face count and dates", response_model=PersonOut,
                responses={404: {"description": "No such person"}})
    def person(name: str) -> PersonOut:
        found = [p for p in _call(ctx.rec.gallery.people) if p.name == name.strip()]
        if not found:
            raise HTTPException(404, f"no person named {name.strip()!r} in the gallery")
        return PersonOut(**found[0].to_dict())

    @router.delete("/api/people/{name}", summary="Forget a person (undo brings them back; purge=true erases them and "
                   "their archive sightings for good)", response_model=ChangeOut)
    def forget(name: str, request: Request, purge: bool = False) -> ChangeOut:
        return ChangeOut(**_call(ctx.rec.gallery.forget, name, who=_who(_client(request)), purge=purge).to_dict())

    @router.patch("/api/people/{name}", summary="Rename a person", response_model=ChangeOut)
    def rename(name: str, request: Request, new_name: str = Body(..., embed=True, alias="name")) -> ChangeOut:
        return ChangeOut(**_call(ctx.rec.gallery.rename, name, new_name, who=_who(_client(request))).to_dict())

    @router.get("/api/history", summary="Changes to the people, newest first", response_model=list[ChangeOut])
    def history(limit: int = 50) -> list[ChangeOut]:
        return [ChangeOut(**c.to_dict()) for c in _call(ctx.rec.gallery.history, max(1, min(limit, 1000)))]

    @router.post("/api/undo", summary="Take back the latest change to the people", response_model=ChangeOut)
    def undo(request: Request) -> ChangeOut:
        return ChangeOut(**_call(ctx.rec.gallery.undo, who=_who(_client(request))).to_dict())

    @router.post("/api/compare", summary="Are the main faces of two photos the same person?",
                 response_model=ComparisonOut)
    def compare(a: UploadFile = File(...), b: UploadFile = File(...)) -> ComparisonOut:
        from ..gallery.api import compare as run

        with ctx.slots:
            imgs = [decode_upload(read_upload(f, ctx.max_upload_bytes), upload_name(f, label), ctx.max_pixels)
                    for f, label in ((a, "a"), (b, "b"))]
            return ComparisonOut(**_call(run, imgs[0], imgs[1], embedder=ctx.rec).to_dict())

    return router


def _client(request: Any) -> Optional[str]:
    return request.client.host if request.client else None
