"""Which HTTP status answers which error: decided by the error's class, in this one place."""
from __future__ import annotations

from ..errors import CelebfaceError, Conflict, GalleryUnavailable, NotFound

#: The first class in an error's MRO found here gives its status; any other CelebfaceError is a 422.
STATUS_OF: dict[type, int] = {GalleryUnavailable: 503, NotFound: 404, Conflict: 409}


def http_status(exc: CelebfaceError) -> int:
    """The status an error a user caused is answered with.

    :param exc: the error
    """
    for cls in type(exc).__mro__:
        if cls in STATUS_OF:
            return STATUS_OF[cls]
    return 422
