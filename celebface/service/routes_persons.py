"""REST for the people grouped from the archive's faces (gallery/people.py, grouping.py, suggest.py): list them
(named first, then unnamed), a person's faces, group, name, merge, split, move faces, mark faces not this person,
keep two people apart, and the suggestions. People are addressed by id (unnamed ones have no name). Every change
is in /api/history and /api/undo takes it back; changes need the token and refuse other sites as every write does
(RequestGuard).
"""
from __future__ import annotations

from dataclasses import asdict
from typing import Any, Optional

from fastapi import APIRouter, Body, File, HTTPException, Request, Response, UploadFile
from fastapi.responses import FileResponse
from pydantic import BaseModel, Field

from ..errors import CelebfaceError, GalleryUnavailable
from .routes_people import ChangeOut  # one model of a history row for every route


#: Side of a face thumbnail, pixels.
THUMB = 128


class PersonSummary(BaseModel):
    id: int
    name: Optional[str] = Field(description="None for a person nobody has named yet")
    faces: int = Field(description="Enrolled faces")
    sightings: int = Field(description="Archive faces grouped into this person")


class FaceOut(BaseModel):
    face: int = Field(description="The archive face's id (a sighting)")
    path: str
    sha256: str
    time: Optional[float] = None
    index: int = Field(description="The face's index in its photo")
    box: Optional[list[float]] = None
    pinned: bool = Field(description="Placed by a user: no grouping run moves it")


class WhoFace(BaseModel):
    box: list[float] = Field(description="[x1, y1, x2, y2] in the photo's pixels")
    person: Optional[int] = Field(description="The person this face is; None when nobody in the gallery clearly is")
    name: Optional[str] = Field(description="Their name; None for an unnamed person (or nobody)")
    similarity: Optional[float] = Field(description="Cosine similarity to the most similar of their faces")


class WhoIsResult(BaseModel):
    image: str
    width: int
    height: int
    faces: list[WhoFace] = Field(description="Every face found, main face first")


def _change(c: Any) -> ChangeOut:
    return ChangeOut(**c.to_dict())


def _call(fn: Any, *args: Any, **kwargs: Any) -> Any:
    """Gallery errors as HTTP answers (service/status.py; a face or photo that is gone: 404)."""
    try:
        return fn(*args, **kwargs)
    except GalleryUnavailable as exc:
        raise HTTPException(503, str(exc)) from None
    except CelebfaceError as exc:
        from .status import http_status

        msg = str(exc)
        raise HTTPException(404 if msg.startswith(("no face", "no photo", "no thumbnail")) else http_status(exc),
                            msg) from None


def _who(request: Request) -> str:
    return f"api ({request.client.host if request.client else 'unknown client'})"


def persons_routes(ctx: Any, auth: list) -> APIRouter:
    """The router; `ctx` is the app's ServiceContext (rec with .gallery), `auth` its token check."""
    router = APIRouter(dependencies=auth)

    def store() -> Any:
        return ctx.rec.gallery

    @router.get("/api/persons", summary="People, named first, then unnamed by faces", response_model=list[PersonSummary])
    def persons() -> list[PersonSummary]:
        return [PersonSummary(**p.overview()) for p in _call(store().people_overview)]

    @router.get("/api/persons/suggestions", summary="People likely one, faces likely misassigned, who to name next")
    def suggestions() -> dict:
        from ..gallery.suggest import suggest_for

        return asdict(_call(lambda: suggest_for(store())))

    @router.get("/api/persons/{pid}/faces", summary="A person's archive faces", response_model=list[FaceOut])
    def faces(pid: int) -> list[FaceOut]:
        _call(store().person, str(pid))
        rows, _, pinned = _call(store().person_sightings, pid)
        return [FaceOut(face=r.id, path=r.path, sha256=r.sha256, time=r.time, index=r.face, box=r.box,
                        pinned=bool(p)) for r, p in zip(rows, pinned)]

    _change_routes(router, store)
    _thumb_route(router, store)
    _who_route(router, ctx)
    return router


def _who_route(router: APIRouter, ctx: Any) -> None:
    @router.post("/api/persons/who", summary="Who is in this photo: each face's person, named or not",
                 response_model=WhoIsResult,
                 responses={401: {"description": "Missing or wrong token"},
                            413: {"description": "Upload too large, too many pixels or a decompression bomb"},
                            415: {"description": "Not an image"}})
    def who(file: UploadFile = File(..., description="The photo (JPEG, PNG, WebP, ...)")) -> WhoIsResult:
        """Each face of the photo (main face first) with the person a grouping run would give it to (the same
        vote among the nearest known faces), or person null when nobody in the gallery clearly is."""
        with ctx.uploaded_photo(file) as (img, name):  # at most `workers` photos, within the pixel budget
            return _call(who_is_in, ctx.rec, img, name)


def who_is_in(rec: Any, img: Any, name: str) -> WhoIsResult:
    """The faces of a decoded photo and who each one is in the recogniser's gallery (grouping.who_is).

    :param rec: the Recognizer (its detector, identity embedder and gallery)
    :param img: the RGB photo (possibly decoded at a reduced size)
    :param name: the photo's name, echoed back
    """
    from ..faces.align import clip_box
    from ..gallery.grouping import who_is
    from ..io.images import scale_of

    faces, vecs = rec.face_embeddings(img)
    store = rec.gallery
    found = who_is(store, vecs) if faces else []
    names = {p.id: (p.name if p.named else None) for p in store.people_overview()} if faces else {}
    scale, (width, height) = scale_of(img)
    out = []
    for f, m in zip(faces, found):
        box = [round(v, 1) for v in clip_box([v * scale for v in f.box], width, height)]
        out.append(WhoFace(box=box, person=None if m is None else m.person_id,
                           name=None if m is None else names.get(m.person_id),
                           similarity=None if m is None else round(m.similarity, 4)))
    return WhoIsResult(image=name, width=width, height=height, faces=out)


def _change_routes(router: APIRouter, store: Any) -> None:
    """The routes that change people (each one change in the history)."""
    @router.post("/api/persons/group", summary="Group the archive's new faces (full=true: regroup all)",
                 response_model=ChangeOut)
    def group(request: Request, full: bool = Body(False, embed=True)) -> ChangeOut:
        from ..gallery.grouping import group_gallery

        return _change(_call(group_gallery, store(), full=full, who=_who(request)))

    @router.patch("/api/persons/{pid}", summary="Name a person (a rename)", response_model=ChangeOut)
    def name(pid: int, request: Request, new: str = Body(..., embed=True, alias="name")) -> ChangeOut:
        return _change(_call(store().name_person, pid, new, who=_who(request)))

    @router.post("/api/persons/{pid}/merge", summary="Merge person `other` into this one", response_model=ChangeOut)
    def merge(pid: int, request: Request, other: int = Body(..., embed=True)) -> ChangeOut:
        return _change(_call(store().merge_people, pid, other, who=_who(request)))

    @router.post("/api/persons/{pid}/split", summary="Split these faces off into a new person",
                 response_model=ChangeOut)
    def split(pid: int, request: Request, faces: list[int] = Body(..., embed=True)) -> ChangeOut:
        return _change(_call(store().split_person, pid, faces, who=_who(request)))

    @router.post("/api/persons/{pid}/not", summary="These faces are not this person", response_model=ChangeOut)
    def not_person(pid: int, request: Request, faces: list[int] = Body(..., embed=True)) -> ChangeOut:
        return _change(_call(store().not_person, faces, pid, who=_who(request)))

    @router.post("/api/persons/{pid}/apart", summary="Person `other` is not this person", response_model=ChangeOut)
    def apart(pid: int, request: Request, other: int = Body(..., embed=True)) -> ChangeOut:
        return _change(_call(store().keep_apart, pid, other, who=_who(request)))

    @router.post("/api/faces/move", summary="Move faces to a person (person null: a new unnamed person)",
                 response_model=ChangeOut)
    def move(request: Request, faces: list[int] = Body(..., embed=True),
             person: Optional[int] = Body(None, embed=True)) -> ChangeOut:
        return _change(_call(store().move_faces, faces, person, who=_who(request)))


def _thumb_route(router: APIRouter, store: Any) -> None:
    @router.get("/api/faces/{sid}/thumb", summary="A JPEG of one archive face, cut from its photo",
                response_class=Response, responses={200: {"content": {"image/jpeg": {}}}})
    def thumb(sid: int) -> Response:
        return Response(_call(face_thumbnail, store(), sid), media_type="image/jpeg",
                        headers={"Cache-Control": "private, max-age=3600"})


def face_thumbnail(store: Any, sid: int, size: int = THUMB) -> bytes:
    """JPEG bytes of an archive face cut from its photo (a GalleryError when the face or its photo is gone).

    :param store: the gallery
    :param sid: the face's sighting id
    :param size: the thumbnail's side in pixels
    """
    import io

    from ..errors import GalleryError
    from ..faces.align import crop_face
    from ..io.images import load_image

    s = store.sighting(sid)
    if s.box is None or s.time is not None:
        raise GalleryError(f"no thumbnail for face {sid}: it has no box, or comes from a video")
    try:
        img = load_image(s.path)
    except (OSError, CelebfaceError) as exc:
        raise GalleryError(f"no photo to cut face {sid} from: {s.path} cannot be read ({exc})") from None
    buf = io.BytesIO()
    crop_face(img, s.box, size=size).save(buf, "JPEG", quality=85)
    return buf.getvalue()


def people_page_routes(static_dir: Any, headers: dict) -> APIRouter:
    """The people page at /people (no token needed to load it: its calls carry the token).

    :param static_dir: the folder of the page's files
    :param headers: the headers every page is served with (its Content-Security-Policy)
    """
    router = APIRouter()

    @router.get("/people", include_in_schema=False)
    def page() -> FileResponse:
        return FileResponse(static_dir / "people.html", headers={**headers, "Cache-Control": "no-cache"})

    return router
