"""Guards in front of every route: the token, the body size limit, and safe reading of uploaded photos.

* 401 with a token configured and no/wrong ``Authorization: Bearer TOKEN`` on an ``/api/`` call (checked
  before the body is read; the page, ``/docs`` and ``/openapi.json`` stay public);
* 413 for a body over the upload limit (``Content-Length`` checked first, then counted while it streams in,
  so an unbounded body is never read) and for photos with too many pixels or decompression bombs;
* 415 for an upload that is not an image; 422 for a request without the expected form field.
"""
from __future__ import annotations

import asyncio
import io
import os
import secrets
import warnings
from typing import Optional

from PIL import Image
from fastapi import HTTPException, UploadFile
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..config import WORK_SIDE
from ..errors import ImageError
from ..io.images import load_image

#: The longest uploaded file name kept (a person's name has its own limit: gallery.names.MAX_NAME).
MAX_FILE_NAME_CHARS = 255


class BodyTooLarge(StarletteHTTPException):
    """Raised from inside the body stream; FastAPI re-raises HTTPExceptions from body parsing as they are."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"upload too large: the limit is {_mb(limit)} per request")


def _mb(n: int) -> str:
    return f"{n / (1024 * 1024):.3g} MB"


def json_error(status: int, detail: str, headers: Optional[dict] = None) -> JSONResponse:
    return JSONResponse({"detail": detail}, status_code=status, headers=headers)


def _token_ok(authorization: Optional[str], token: str) -> bool:
    if not authorization:
        return False
    scheme, _, given = authorization.partition(" ")
    return scheme.lower() == "bearer" and secrets.compare_digest(given.strip().encode(), token.encode())


#: Host names a server answers to unless told otherwise (DNS rebinding needs another name to resolve to us).
LOOPBACK_HOSTS = ("localhost", "127.0.0.1", "::1")
STATE_CHANGING = {"POST", "PUT", "PATCH", "DELETE"}


def _host_name(value: str) -> str:
    """'example.org:8000' -> 'example.org'; '[::1]:8000' -> '::1'."""
    return _host_port(value)[0]


def _host_port(value: str) -> tuple[str, Optional[int]]:
    """'example.org:8000' -> ('example.org', 8000); '[::1]' -> ('::1', None); a bad port -> ('', None)."""
    value = value.strip().lower()
    if value.startswith("["):
        host, _, rest = value[1:].partition("]")
        port = rest[1:] if rest.startswith(":") else ""
    elif value.count(":") == 1:
        host, port = value.split(":")
    else:
        host, port = value, ""
    if port and not port.isdigit():
        return "", None
    return host, int(port) if port else None


DEFAULT_PORTS = {"http": 80, "https": 443}


def _origin(url: str) -> Optional[tuple[str, str, int]]:
    """(scheme, host, port) of an Origin or Referer value ('http://a:1/page' -> ('http', 'a', 1)); None if bad."""
    scheme, sep, rest = url.strip().partition("://")
    scheme = scheme.lower()
    if not sep or scheme not in DEFAULT_PORTS:
        return None
    host, port = _host_port(rest.split("/", 1)[0].split("?", 1)[0].split("#", 1)[0].rsplit("@", 1)[-1])
    return (scheme, host, port or DEFAULT_PORTS[scheme]) if host else None


def own_origin(scheme: str, host_header: str) -> Optional[tuple[str, str, int]]:
    """The origin of this server's own pages: the request's scheme, and the host and port of its Host header."""
    return _origin(f"{scheme or 'http'}://{host_header}")


CROSS_SITE = "cross-site request refused: the page that sent it is not served by this server"


def _foreign_page(headers: Headers, scheme: str) -> bool:
    """True when a change comes from a page of another origin: scheme, host and port must all be this server's.

    The Origin header decides; without one, the Referer does; with neither (curl, scripts), Sec-Fetch-Site does.
    """
    mine = own_origin(scheme, headers.get("host", ""))
    origin = headers.get("origin")
    if origin is not None:
        return origin == "null" or _origin(origin) != mine
    referer = headers.get("referer")
    if referer:
        return _origin(referer) != mine
    return headers.get("sec-fetch-site") == "cross-site"


def cross_site_problem(headers: Headers, method: str, allowed_hosts: Optional[tuple[str, ...]],
                       scheme: str = "http") -> Optional[str]:
    """Why a request must be refused as cross-site (wrong Host; foreign Origin on a change), or None.

    :param scheme: the request's scheme ("http" or "https"), part of this server's own origin
    """
    if allowed_hosts is None:
        return None
    host = _host_name(headers.get("host", ""))
    if "*" not in allowed_hosts and host not in allowed_hosts:
        return f"host {host!r} is not one this server answers to (start it with --allowed-host {host} to allow it)"
    if method in STATE_CHANGING and _foreign_page(headers, scheme):
        return CROSS_SITE
    return None


class RequestGuard:
    """ASGI middleware: Host and Origin (DNS rebinding, cross-site requests), the token on /api/ calls, then
    the body size limit (header first, then while streaming) and a time limit on each piece of the body."""

    def __init__(self, app: ASGIApp, token: Optional[str], max_body: int,
                 allowed_hosts: Optional[tuple[str, ...]] = LOOPBACK_HOSTS, body_timeout: float = 30.0) -> None:
        self.app, self.token, self.max_body = app, token, max_body
        self.allowed_hosts, self.body_timeout = allowed_hosts, body_timeout

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        problem = cross_site_problem(headers, scope["method"], self.allowed_hosts, scope.get("scheme", "http"))
        if problem:
            await json_error(403 if "cross-site" in problem else 400, problem)(scope, receive, send)
            return
        if self.token and scope["path"].startswith("/api/") and not _token_ok(headers.get("authorization"),
                                                                              self.token):
            detail = ("this server needs a token: send 'Authorization: Bearer TOKEN'"
                      if not headers.get("authorization") else "wrong token")
            await json_error(401, detail, {"WWW-Authenticate": "Bearer"})(scope, receive, send)
            return
        length = headers.get("content-length")
        if length is not None:
            try:
                declared = int(length)
            except ValueError:
                await json_error(400, "bad Content-Length header")(scope, receive, send)
                return
            if declared > self.max_body:
                await json_error(413, BodyTooLarge(self.max_body).detail)(scope, receive, send)
                return

        received = 0
        started = False

        async def limited_receive() -> Message:
            nonlocal received
            try:
                message = await asyncio.wait_for(receive(), self.body_timeout)
            except asyncio.TimeoutError:
                raise StarletteHTTPException(408, "the upload was too slow; send it again") from None
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
            await json_error(413, str(exc.detail))(scope, receive, send)


def upload_name(upload: UploadFile, default: str = "upload") -> str:
    name = os.path.basename((upload.filename or "").replace("\\", "/")) or default
    return name[:MAX_FILE_NAME_CHARS]


def read_upload(upload: UploadFile, limit: int) -> bytes:
    """The upload's bytes; never more than limit + 1 are read (the body limit already bounds it)."""
    upload.file.seek(0)
    data = upload.file.read(limit + 1)
    if len(data) > limit:
        raise HTTPException(413, f"upload too large: the limit is {_mb(limit)} per request")
    return data


def decode_upload(data: bytes, name: str, max_pixels: int):
    try:
        return load_image(data, max_pixels=max_pixels, max_side=WORK_SIDE)
    except ImageError as exc:
        message = str(exc).replace("uploaded photo", name, 1)
        if exc.kind == "too_large":
            raise HTTPException(413, message) from None
        raise HTTPException(415, message + " (send a JPEG, PNG, WebP, GIF, BMP or TIFF photo)") from None


def header_pixels(data: bytes) -> int:
    """Width x height from the photo's header (0 when it cannot be read)."""
    try:
        with Image.open(io.BytesIO(data)) as img:
            return img.width * img.height
    except Exception:
        return 0


def refused_early(data: bytes, max_pixels: int) -> bool:
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




def describe_validation(exc: RequestValidationError) -> str:
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


