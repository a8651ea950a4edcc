"""`celebface serve`: a web page and a REST API that name the faces in uploaded photos.

The model is loaded once, when the app is created; requests run concurrently in FastAPI's thread pool (the
recogniser has its own lock). Every bad request gets a JSON ``{"detail": "..."}`` answer and the server
keeps serving:

* 401 with ``--token`` and no/wrong ``Authorization: Bearer TOKEN`` on an ``/api/`` call (checked before the
  body is read; the page, ``/docs`` and ``/openapi.json`` stay public);
* 413 for a body over the upload limit (``Content-Length`` checked first, then counted while it streams in,
  so an unbounded body is never read) and for photos with too many pixels or decompression bombs;
* 415 for an upload that is not an image; 422 for a request without the expected form field;
* 500 with a generic message for anything unexpected (the trace goes to the server log only).
"""
from __future__ import annotations

import contextlib
import io
import logging
import os
import secrets
import socket
import threading
import time
import warnings
from pathlib import Path
from typing import Any, Iterator, Optional, Union

from PIL import Image
from fastapi import Depends, FastAPI, File, HTTPException, Request, UploadFile
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from fastapi.staticfiles import StaticFiles
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .images import MAX_PIXELS, ImageError, load_image

log = logging.getLogger("celebface.serve")

STATIC_DIR = Path(__file__).resolve().parent / "static"
DEFAULT_MAX_UPLOAD_BYTES = 10 * 1024 * 1024
#: Photos decoded and named at the same time (bounds the memory big photos can take).
DEFAULT_WORKERS = max(2, min(4, os.cpu_count() or 2))
MAX_NAME_CHARS = 255
#: Photos per enrolment request, and the longest person name accepted.
MAX_ENROL_PHOTOS = 20
MAX_PERSON_CHARS = 100

#: Security headers for the page and static files (the page loads nothing from elsewhere).
PAGE_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' blob: data:; style-src 'self'; "
                               "script-src 'self'; connect-src 'self'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


class BodyTooLarge(StarletteHTTPException):
    """Raised from inside the body stream; FastAPI re-raises HTTPExceptions from body parsing as they are."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"upload too large: the limit is {_mb(limit)} per request")


def _mb(n: int) -> str:
    return f"{n / (1024 * 1024):.3g} MB"


def _json_error(status: int, detail: str, headers: Optional[dict] = None) -> JSONResponse:
    return JSONResponse({"detail": detail}, status_code=status, headers=headers)


def _token_ok(authorization: Optional[str], token: str) -> bool:
    if not authorization:
        return False
    scheme, _, given = authorization.partition(" ")
    return scheme.lower() == "bearer" and secrets.compare_digest(given.strip().encode(), token.encode())


class RequestGuard:
    """ASGI middleware: the token on /api/ calls, then the body size limit (header first, then while streaming)."""

    def __init__(self, app: ASGIApp, token: Optional[str], max_body: int) -> None:
        self.app, self.token, self.max_body = app, token, max_body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        if self.token and scope["path"].startswith("/api/") and not _token_ok(headers.get("authorization"),
                                                                              self.token):
            detail = ("this server needs a token: send 'Authorization: Bearer TOKEN'"
                      if not headers.get("authorization") else "wrong token")
            await _json_error(401, detail, {"WWW-Authenticate": "Bearer"})(scope, receive, send)
            return
        length = headers.get("content-length")
        if length is not None:
            try:
                declared = int(length)
            except ValueError:
                await _json_error(400, "bad Content-Length header")(scope, receive, send)
                return
            if declared > self.max_body:
                await _json_error(413, BodyTooLarge(self.max_body).detail)(scope, receive, send)
                return

        received = 0
        started = False

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_body:
                    raise BodyTooLarge(self.max_body)
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except BodyTooLarge as exc:  # only if it escaped the app's own handlers
            if started:
                raise
            await _json_error(413, str(exc.detail))(scope, receive, send)


def _upload_name(upload: UploadFile, default: str = "upload") -> str:
    name = os.path.basename((upload.filename or "").replace("\\", "/")) or default
    return name[:MAX_NAME_CHARS]


def _read_upload(upload: UploadFile, limit: int) -> bytes:
    """The upload's bytes; never more than limit + 1 are read (the body limit already bounds it)."""
    upload.file.seek(0)
    data = upload.file.read(limit + 1)
    if len(data) > limit:
        raise HTTPException(413, f"upload too large: the limit is {_mb(limit)} per request")
    return data


def _decode(data: bytes, name: str, max_pixels: int):
    try:
        return load_image(data, max_pixels=max_pixels)
    except ImageError as exc:
        message = str(exc).replace("uploaded photo", name, 1)
        if exc.kind == "too_large":
            raise HTTPException(413, message) from None
        raise HTTPException(415, message + " (send a JPEG, PNG, WebP, GIF, BMP or TIFF photo)") from None


def _refused_early(data: bytes, max_pixels: int) -> bool:
    """True if the photo's header already shows it will be refused (not an image, too many pixels, bomb).

    Reading the header is cheap, so such uploads are answered without waiting for a decoding slot.
    """
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as img:
                width, height = img.size
    except Exception:
        return True
    return width * height > max_pixels


def _describe_validation(exc: RequestValidationError) -> str:
    parts = []
    for err in exc.errors():
        loc = [str(p) for p in err.get("loc", ()) if p not in ("body", "query", "path")]
        field = ".".join(loc) or "request"
        if err.get("type") == "missing":
            parts.append(f"missing form field '{field}'")
        else:
            parts.append(f"{field}: {err.get('msg', 'invalid')}")
    hint = " (send the photo as multipart/form-data: field 'file' for /api/predict, 'files' for /api/people/NAME)"
    return "; ".join(parts) + hint


def create_app(recognizer_or_model_dir: Any, token: Optional[str] = None,
               max_upload_bytes: int = DEFAULT_MAX_UPLOAD_BYTES, max_pixels: int = MAX_PIXELS,
               workers: int = DEFAULT_WORKERS) -> FastAPI:
    """The FastAPI app: page at /, API under /api/, docs at /docs. Loads the model if given a folder."""
    if isinstance(recognizer_or_model_dir, (str, os.PathLike)):
        from .predict import load

        rec = load(Path(recognizer_or_model_dir))
    else:
        rec = recognizer_or_model_dir
    token = token or None
    slots = threading.BoundedSemaphore(max(1, workers))

    app = FastAPI(
        title="celebface",
        summary="Name the faces in a photo.",
        description="Upload a photo to `/api/predict` (multipart field `file`). "
                    + ("Every `/api/` call needs `Authorization: Bearer TOKEN`." if token else ""),
        version="1",
        docs_url=None,  # served below from the swagger-ui-bundle package: no CDN
        redoc_url=None,
    )
    app.state.recognizer = rec
    bearer = HTTPBearer(auto_error=False, description="The --token the server was started with.")

    def check_token(cred: Optional[HTTPAuthorizationCredentials] = Depends(bearer)) -> None:
        # The RequestGuard middleware already refused bad tokens before the body was read; this dependency
        # documents the scheme in /docs and checks again.
        if token and (cred is None or not secrets.compare_digest(cred.credentials.encode(), token.encode())):
            raise HTTPException(401, "wrong or missing token", headers={"WWW-Authenticate": "Bearer"})

    auth = [Depends(check_token)] if token else []

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return _json_error(exc.status_code, str(exc.detail), getattr(exc, "headers", None))

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        return _json_error(422, _describe_validation(exc))

    @app.exception_handler(Exception)
    async def unexpected_error(request: Request, exc: Exception) -> JSONResponse:
        log.error("unexpected error on %s %s", request.method, request.url.path, exc_info=exc)
        return _json_error(500, "internal error while handling the request; see the server log")

    def limits() -> dict:
        return {"max_upload_bytes": max_upload_bytes, "max_pixels": max_pixels}

    @app.get("/api/health", dependencies=auth, summary="Is the server up, and with which model")
    async def health() -> dict:
        info = rec.info() if hasattr(rec, "info") else {}
        return {"status": "ok", "model": info, "people": len(rec.classes),
                "can_enroll": bool(getattr(rec, "can_enroll", False)), "token_required": bool(token), **limits()}

    @app.get("/api/people", dependencies=auth, summary="The people the model knows")
    async def people() -> dict:
        names = list(rec.classes)
        return {"people": names, "count": len(names), "can_enroll": bool(getattr(rec, "can_enroll", False))}

    @app.post("/api/predict", dependencies=auth, summary="Name every face in one photo",
              responses={401: {"description": "Missing or wrong token"},
                         413: {"description": "Upload too large, too many pixels or a decompression bomb"},
                         415: {"description": "Not an image"}})
    def predict(file: UploadFile = File(..., description="The photo (JPEG, PNG, WebP, ...)")) -> dict:
        """Faces (main face first) with box [x1, y1, x2, y2] in pixels, name ("unknown" below the
        threshold), confidence, open-set score and top-3."""
        name = _upload_name(file)
        data = _read_upload(file, max_upload_bytes)
        if _refused_early(data, max_pixels):
            _decode(data, name, max_pixels)  # raises the 413/415 with its message at once
        with slots:  # at most `workers` photos decoded (and their pixels held) at a time
            img = _decode(data, name, max_pixels)
            del data
            try:
                return rec.predict_pil(img, name)
            except Exception as exc:
                log.error("prediction failed for %s", name, exc_info=exc)
                raise HTTPException(500, "internal error while naming the faces; see the server log") from None

    @app.post("/api/people/{name}", dependencies=auth, summary="Enrol a person from one or more photos",
              responses={409: {"description": "This model cannot enrol people"},
                         422: {"description": "No usable face, or a name that cannot be used"}})
    def enrol(name: str, files: list[UploadFile] = File(..., description="One or more photos of the person")
              ) -> dict:
        """Add a person (or add photos to one) without retraining; only embedding backbones (dlib_face)."""
        if not getattr(rec, "can_enroll", False) or not hasattr(rec, "enroll"):
            backbone = (rec.info().get("backbone") if hasattr(rec, "info") else None) or "this"
            raise HTTPException(409, f"the {backbone} model cannot enrol people without retraining; train with "
                                     f"--backbone dlib_face to enrol people from the page or API")
        if len(files) > MAX_ENROL_PHOTOS:
            raise HTTPException(422, f"{len(files)} photos sent; at most {MAX_ENROL_PHOTOS} per request")
        if len(name) > MAX_PERSON_CHARS:
            raise HTTPException(422, f"a person's name can have at most {MAX_PERSON_CHARS} characters")
        labels = [_upload_name(f, f"photo {i + 1}") for i, f in enumerate(files)]
        blobs = [_read_upload(f, max_upload_bytes) for f in files]
        for data, label in zip(blobs, labels):
            if _refused_early(data, max_pixels):
                _decode(data, label, max_pixels)
        with slots:
            images = [_decode(data, label, max_pixels) for data, label in zip(blobs, labels)]
            del blobs
            try:
                summary = rec.enroll(name, images)
            except ValueError as exc:  # EnrollError and friends: a message for the user
                raise HTTPException(422, str(exc)) from None
            except Exception as exc:
                log.error("enrolment of %r failed", name, exc_info=exc)
                raise HTTPException(500, "internal error while enrolling; see the server log") from None
        summary = dict(summary)
        summary["skipped"] = [_relabel(s, labels) for s in summary.get("skipped", [])]
        summary["people"] = list(rec.classes)
        return summary

    @app.get("/", include_in_schema=False)
    def page() -> FileResponse:
        return FileResponse(STATIC_DIR / "index.html", headers={**PAGE_HEADERS, "Cache-Control": "no-cache"})

    static = StaticFiles(directory=STATIC_DIR)

    async def static_with_headers(scope: Scope, receive: Receive, send: Send) -> None:
        async def add_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", [])
                message["headers"] = list(message["headers"]) + [
                    (k.lower().encode(), v.encode()) for k, v in PAGE_HEADERS.items()]
            await send(message)

        await static(scope, receive, add_headers)

    app.mount("/static", static_with_headers, name="static")

    import swagger_ui_bundle
    from fastapi.openapi.docs import get_swagger_ui_html

    app.mount("/docs-assets", StaticFiles(directory=swagger_ui_bundle.swagger_ui_path), name="docs-assets")

    @app.get("/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        return get_swagger_ui_html(openapi_url=app.openapi_url or "/openapi.json", title="celebface API",
                                   swagger_js_url="/docs-assets/swagger-ui-bundle.js",
                                   swagger_css_url="/docs-assets/swagger-ui.css",
                                   swagger_favicon_url="/docs-assets/favicon-32x32.png")
    app.add_middleware(RequestGuard, token=token, max_body=max_upload_bytes)
    return app


def _relabel(skipped: str, labels: list[str]) -> str:
    """enroll() calls in-memory photos "photo N"; use the uploaded file names instead."""
    for i, label in enumerate(labels):
        prefix = f"photo {i + 1}:"
        if skipped.startswith(prefix):
            return label + ":" + skipped[len(prefix):]
    return skipped


@contextlib.contextmanager
def serve_in_thread(app: FastAPI, host: str = "127.0.0.1", port: int = 0,
                    timeout: float = 30.0) -> Iterator[str]:
    """Run `app` with uvicorn in a background thread (port 0: a free one); yields the base URL, then stops it."""
    import uvicorn

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host=host, port=port, log_level="warning", access_log=False,
                                           timeout_graceful_shutdown=5))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name="celebface-serve",
                              daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + timeout
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the server did not start")
            time.sleep(0.02)
        yield f"http://{host}:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout)
        sock.close()


def run(model_dir: Union[str, os.PathLike], host: str = "127.0.0.1", port: int = 8000,
        token: Optional[str] = None, max_upload_mb: float = 10.0) -> None:
    """Load the model once and serve the page and API with uvicorn until interrupted."""
    import uvicorn

    from .predict import load

    if max_upload_mb <= 0:
        raise ValueError("--max-upload-mb must be more than 0")
    model_dir = Path(model_dir)
    rec = load(model_dir)
    app = create_app(rec, token=token, max_upload_bytes=int(max_upload_mb * 1024 * 1024))
    shown = f"[{host}]" if ":" in host else host
    print(f"celebface: {len(rec.classes)} people from {model_dir}; page http://{shown}:{port}/ "
          f"API docs http://{shown}:{port}/docs" + ("; API calls need the token" if token else ""), flush=True)
    if host not in ("127.0.0.1", "localhost", "::1") and not token:
        print("warning: listening beyond this machine without --token: anyone who can reach it can use it",
              flush=True)
    uvicorn.run(app, host=host, port=port, log_level="info")
