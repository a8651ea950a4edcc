"""Listing the photos a command is given: files and folders, or a DATA_DIR laid out <Person>/<photos>."""
from __future__ import annotations

import os
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

from ..config import UNKNOWN
from ..errors import DataError, shown
from .images import is_image_name
from .video import is_video_name

#: The longest person name accepted: folder names, the CLI's --name and the REST API's names alike.
MAX_NAME_CHARS = 200


def normal_name(name: str) -> str:
    """A person's name as stored: Unicode NFC (a decomposed 'Zoë', as macOS writes folder names, is the composed
    one), surrounding spaces removed."""
    return unicodedata.normalize("NFC", name).strip()


def name_key(name: str) -> str:
    """What two names must not share to be two people: NFKC and case folded ('Roger', 'roger' and full-width
    'Ｒoger' have one key)."""
    return unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", name).casefold())


@dataclass(frozen=True)
class PhotoJob:
    """One photo of DATA_DIR: its path relative to DATA_DIR, the person (folder), size and mtime."""

    file: str
    person: str
    path: str  # absolute
    bytes: int
    mtime_ns: int


def name_problem(name: str) -> str | None:
    """Why `name` cannot be a person's name, or None if it can."""
    if not name or not name.strip():
        return "it is empty"
    if name != name.strip():
        return "it starts or ends with spaces"
    if any(unicodedata.category(c).startswith("C") or unicodedata.category(c) in ("Zl", "Zp") for c in name):
        return "it contains control characters"
    if "/" in name or "\\" in name or name in (".", ".."):
        return "it contains a slash (a path separator) or is '.' or '..'"
    if name_key(name) == UNKNOWN:
        return f"'{UNKNOWN}' is reserved: it is what celebface calls faces it does not know"
    if len(name) > MAX_NAME_CHARS:
        return f"it is longer than {MAX_NAME_CHARS} characters"
    return None


def expand_paths(paths: Iterable[os.PathLike], videos: bool = False) -> list[Path]:
    """Files as given, folders as every photo (and with `videos`, every video) below them (sorted)."""
    out: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            out += sorted(f for f in p.rglob("*") if f.is_file() and (is_image_name(f) or
                                                                     videos and is_video_name(f)))
        else:
            out.append(p)
    return out


def _person_dirs(data_dir: Path) -> list[Path]:
    """DATA_DIR's person folders; a folder linking back into DATA_DIR (or above it) is refused, not followed."""
    root = data_dir.resolve()
    dirs = []
    for p in sorted(data_dir.iterdir()):
        if not p.is_dir() or p.name.startswith("."):
            continue
        target = p.resolve()
        if target == root or target in root.parents or (p.is_symlink() and root in target.parents):
            raise DataError(f"{p} links to {target}, which is DATA_DIR itself, above it or inside it; "
                            f"remove the link (each person needs a folder of their own photos)")
        problem = name_problem(normal_name(p.name))
        if problem:
            raise DataError(f"folder '{shown(p.name)}' cannot be a person's name: {problem}; rename the folder")
        dirs.append(p)
    _refuse_look_alikes(dirs)
    return dirs


def _refuse_look_alikes(dirs: list[Path]) -> None:
    """Two folders whose names differ only in case or width ('Roger', 'roger') would be two people: refused."""
    seen: dict[str, str] = {}
    for p in dirs:
        name = normal_name(p.name)
        other = seen.setdefault(name_key(name), name)
        if other != name:
            raise DataError(f"folders '{shown(other)}' and '{shown(name)}' differ only in case or width, so they "
                            f"would be two people who look like one: merge them into one folder")


def list_photos(data_dir: Path) -> list[PhotoJob]:
    """Every photo in DATA_DIR/<Person>/ (sorted), or a DataError saying what the layout must be."""
    data_dir = Path(data_dir)
    if not data_dir.is_dir():
        raise DataError(f"{data_dir} is not a folder. Give a folder with one sub-folder of photos per person.")
    jobs = []
    for person_dir in _person_dirs(data_dir):
        for path in sorted(person_dir.rglob("*")):
            if path.is_file() and is_image_name(path):
                st = path.stat()
                jobs.append(PhotoJob(str(path.relative_to(data_dir)), normal_name(person_dir.name), str(path.resolve()),
                                     st.st_size, st.st_mtime_ns))
    if not jobs:
        raise DataError(f"no photos found under {data_dir}/<Person_Name>/. Put each person's photos "
                        f"(jpg, png, webp, ...) in a sub-folder named after them.")
    return jobs
