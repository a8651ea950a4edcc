"""celebface's errors: each says what went wrong and what to do (the CLI prints one line, the service 4xx JSON)."""
from __future__ import annotations


class CelebfaceError(Exception):
    """Base class of every error celebface reports to a user."""


class GalleryError(CelebfaceError):
    """The people gallery cannot do what was asked (bad name, locked, corrupt, newer schema, database down)."""


class EnrollError(CelebfaceError):
    """Enrolment that cannot be done as asked."""


class GalleryUnavailable(GalleryError):
    """The gallery's database cannot be reached right now (PostgreSQL down or restarting): try again (HTTP 503)."""
