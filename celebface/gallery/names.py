"""People's names: what the gallery accepts as a name (the rules of io.sources.name_problem, after stripping)."""
from __future__ import annotations

from ..errors import GalleryError
from ..io.sources import MAX_NAME_CHARS, name_problem

MAX_NAME = MAX_NAME_CHARS


def validate_name(name: str) -> str:
    """Return `name` stripped, or raise GalleryError saying why it cannot name a person.

    :param name: the name as typed (surrounding spaces are removed)
    """
    if not isinstance(name, str):
        raise GalleryError("a person's name must be text")
    clean = name.strip()
    problem = name_problem(clean)
    if problem:
        raise GalleryError(f"{clean!r} cannot be a person's name: {problem}")
    return clean
