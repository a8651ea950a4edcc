"""`celebface serve`: the FastAPI app that names the faces in uploaded photos, assembled from its parts.

The model is loaded once, when the app is created; requests run concurrently in FastAPI's thread pool (the
recogniser's stages have their own locks). Every bad request gets a JSON ``{"detail": "..."}`` answer and the
server keeps serving; anything unexpected is a 500 with a generic message (the trace goes to the log only).
"""
from __future__ import annotations

import logging
import os
import secrets
import threading
from pathlib import Path
from typing import Any, Callable, Optional, Sequence

from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import Message, Receive, Scope, Send

from ..config import MAX_PIXELS
from ..errors import CelebfaceError
from .budget import PixelBudget
from .context import ServiceContext
from .guard import LOOPBACK_HOSTS, RequestGuard, describe_validation, json_error
from .routes_cluster import cluster_routes
from .routes_people import people_routes
from .routes_persons import people_page_routes, persons_routes
from .routes_photos import photo_routes
from .routes_videos import video_routes
from .status import http_status

log = logging.getLogger("celebface.serve")

STATIC_DIR = Path(__file__).resolve().parent / "static"
DEFAULT_MAX_UPLOAD_BYTES = 10 * 1024 * 1024
#: Photos decoded and named at the same time (bounds the memory big photos can take).
DEFAULT_WORKERS = max(2, min(4, os.cpu_count() or 2))
#: Pixels of photos decoded at the same time across the server (100 M: about 300 MB of RGB).
DEFAULT_PIXEL_BUDGET = 100_000_000

#: Security headers for the page and static files (the page loads nothing from elsewhere).
PAGE_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' blob: data:; style-src 'self'; "
                               "script-src 'self'; connect-src 'self'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


#: Every answer names the process that gave it (`serve --workers N` runs N of them).
WORKER_HEADER = "X-Celebface-Worker"


class WorkerHeader:
    """ASGI middleware: adds WORKER_HEADER (this process's id) to every HTTP answer."""

    def __init__(self, app: Any) -> None:
        self.app, self.value = app, str(os.getpid()).encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_worker(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), (WORKER_HEADER.lower().encode(), self.value)]
            await send(message)

        await self.app(scope, receive, send_with_worker)


def _default_enroll(rec: Any) -> Optional[Callable]:
    if not getattr(rec, "can_enroll", False) or not hasattr(rec, "model_dir"):
        return None

    def enroll(name: str, images: list) -> Any:
        return rec.enroll(name, images, who="api")  # the gallery: no retraining

    return enroll


def _token_dependency(token: Optional[str]) -> list:
    bearer = HTTPBearer(auto_error=False, description="The token the server was started with.")

    def check_token(cred: Optional[HTTPAuthorizationCredentials] = Depends(bearer)) -> None:
        # RequestGuard already refused bad tokens before the body was read; this documents the scheme in /docs.
        if token and (cred is None or not secrets.compare_digest(cred.credentials.encode(), token.encode())):
            raise HTTPException(401, "wrong or missing token", headers={"WWW-Authenticate": "Bearer"})

    return [Depends(check_token)] if token else []


def _error_handlers(app: FastAPI) -> None:
    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return json_error(exc.status_code, str(exc.detail), getattr(exc, "headers", None))

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        return json_error(422, describe_validation(exc))

    @app.exception_handler(CelebfaceError)
    async def user_error(request: Request, exc: CelebfaceError) -> JSONResponse:
        return json_error(http_status(exc), str(exc))  # the status comes from the error's class

    @app.exception_handler(Exception)
    async def unexpected_error(request: Request, exc: Exception) -> JSONResponse:
        log.error("unexpected error on %s %s", request.method, request.url.path, exc_info=exc)
        return json_error(500, "internal error while handling the request; see the server log")


def _page_and_docs(app: FastAPI) -> None:
    @app.get("/", include_in_schema=False)
    def page() -> FileResponse:
        return FileResponse(STATIC_DIR / "index.html", headers={**PAGE_HEADERS, "Cache-Control": "no-cache"})

    static = StaticFiles(directory=STATIC_DIR)

    async def static_with_headers(scope: Scope, receive: Receive, send: Send) -> None:
        async def add_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = list(message.get("headers", [])) + [
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


def create_app(recognizer_or_model_dir: Any, token: Optional[str] = None,
               max_upload_bytes: int = DEFAULT_MAX_UPLOAD_BYTES, max_pixels: int = MAX_PIXELS,
               workers: int = DEFAULT_WORKERS, enroll: Optional[Callable] = None,
               allowed_hosts: Optional[Sequence[str]] = LOOPBACK_HOSTS,
               pixel_budget: Optional[int] = None) -> FastAPI:
    """The FastAPI app: page at /, API under /api/, docs at /docs.

    :param recognizer_or_model_dir: a loaded recogniser (anything with the RecognizerLike protocol), or a
        model folder to load
    :param token: if set, every /api/ call needs `Authorization: Bearer TOKEN`
    :param workers: photos decoded and named at the same time
    :param enroll: how to enrol a person (name, images) -> summary; default: the model's own enrolment
    :param pixel_budget: pixels decoded at once across all requests (default: DEFAULT_PIXEL_BUDGET)
    :param allowed_hosts: Host header values served (default: loopback names); "*" for any; None: no check
    """
    if isinstance(recognizer_or_model_dir, (str, os.PathLike)):
        from ..recognition.recognizer import load

        rec = load(Path(recognizer_or_model_dir))
    else:
        rec = recognizer_or_model_dir
    token = token or None
    ctx = ServiceContext(rec, enroll or _default_enroll(rec), token, max_upload_bytes, max_pixels,
                         threading.BoundedSemaphore(max(1, workers)),
                         PixelBudget(pixel_budget or max(max_pixels, DEFAULT_PIXEL_BUDGET)))
    app = FastAPI(
        title="celebface", summary="Name the faces in a photo.", version="1",
        description="Upload a photo to `/api/predict` (multipart field `file`). "
                    + ("Every `/api/` call needs `Authorization: Bearer TOKEN`." if token else ""),
        docs_url=None, redoc_url=None,  # docs are served from the swagger-ui-bundle package: no CDN
    )
    app.state.recognizer = rec
    _error_handlers(app)
    app.include_router(photo_routes(ctx, _token_dependency(token)))
    app.include_router(cluster_routes(ctx, _token_dependency(token)))
    app.include_router(video_routes(ctx, _token_dependency(token)))
    app.include_router(people_routes(ctx, _token_dependency(token)))
    app.include_router(persons_routes(ctx, _token_dependency(token)))
    app.include_router(people_page_routes(STATIC_DIR, PAGE_HEADERS))
    _page_and_docs(app)
    hosts = None if allowed_hosts is None else tuple(h.lower() for h in allowed_hosts)
    app.add_middleware(RequestGuard, token=token, max_body=max_upload_bytes, allowed_hosts=hosts)
    app.add_middleware(WorkerHeader)  # outermost: refusals carry it too
    return app
