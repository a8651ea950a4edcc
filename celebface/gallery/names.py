"""People's names: what the gallery accepts as a name."""
from __future__ import annotations

import unicodedata

from ..errors import GalleryError

MAX_NAME = 200
RESERVED = {"unknown"}


def validate_name(name: str) -> str:
    """Return `name` stripped, or raise GalleryError saying why it cannot name a person.

    :param name: the name as typed (surrounding spaces are removed)
    """
    if not isinstance(name, str):
        raise GalleryError("a person's name must be text")
    clean = name.strip()
    if not clean:
        raise GalleryError("a person's name cannot be empty")
    if len(clean) > MAX_NAME:
        raise GalleryError(f"a person's name is at most {MAX_NAME} characters (this one has {len(clean)})")
    if "/" in clean or "\\" in clean:
        raise GalleryError(f"{clean!r} cannot be a person's name: it contains a slash")
    if any(unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp") for ch in clean):
        raise GalleryError(f"{clean!r} cannot be a person's name: it contains a control character")
    if clean.casefold() in RESERVED or clean in (".", ".."):
        raise GalleryError(f"{clean!r} cannot be a person's name: it is reserved; choose another")
    return clean
