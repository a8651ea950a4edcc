"""People's names: what the gallery accepts as a name (the rules of io.sources.name_problem, after normalising).

A name is stored in Unicode NFC with surrounding spaces removed, in the form it was typed. Two people's names may
not differ only in case or character width (`name_key`: NFKC, case folded): the gallery refuses the second.
"""
from __future__ import annotations

from ..errors import GalleryError, shown
from ..io.sources import MAX_NAME_CHARS, name_key, name_problem, normal_name

MAX_NAME = MAX_NAME_CHARS
__all__ = ["MAX_NAME", "name_key", "validate_name"]


def validate_name(name: str) -> str:
    """Return `name` in NFC and stripped, or raise GalleryError saying why it cannot name a person.

    :param name: the name as typed (surrounding spaces are removed)
    """
    if not isinstance(name, str):
        raise GalleryError("a person's name must be text")
    clean = normal_name(name)
    problem = name_problem(clean)
    if problem:
        raise GalleryError(f"'{shown(clean)}' cannot be a person's name: {problem}")
    return clean
