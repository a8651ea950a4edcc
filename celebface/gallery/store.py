"""Which gallery a model uses: MODEL_DIR/gallery.db (SQLite) unless a PostgreSQL URL is given.

The URL comes from, in order: the `url` argument (`--gallery`), the CELEBFACE_GALLERY environment variable, or
MODEL_DIR/gallery.json (written by `celebface init --gallery URL`, never with a password in it).
"""
from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Iterable, Iterator, Optional, Protocol, Union

import numpy as np

from ..errors import GalleryError
from .records import Change, Delta, Neighbours, NewFace, Person
from .sqlbase import DEFAULT_TRASH_DAYS

ENV_URL = "CELEBFACE_GALLERY"
ENV_TRASH_DAYS = "CELEBFACE_TRASH_DAYS"
SETTINGS = "gallery.json"
DB_FILE = "gallery.db"


class Store(Protocol):
    """What the matcher, the CLI and the service need from a gallery (SQLiteStore and PostgresStore are ones)."""
    kind: str  # "sqlite" | "postgresql"
    backbone: str  # the model whose embeddings it holds
    dim: int
    weights: str
    trash_days: Optional[float]  # days removed faces stay undoable (None: for ever)

    def add(self, name: str, faces: list[NewFace], who: Optional[str] = None, replace: bool = False,
            metadata: Optional[dict] = None) -> Change: ...
    def forget(self, name: str, who: Optional[str] = None, purge: bool = False) -> Change: ...
    def purge(self, name: str, who: Optional[str] = None) -> Change: ...
    def rename(self, old: str, new: str, who: Optional[str] = None) -> Change: ...
    def undo(self, who: Optional[str] = None) -> Change: ...
    def people(self) -> list[Person]: ...
    def history(self, limit: int = 50) -> list[Change]: ...
    def change_id(self) -> int: ...
    def names(self) -> dict[int, str]: ...
    def person_faces(self, person_id: int) -> np.ndarray: ...
    def sample(self, n: int) -> tuple[np.ndarray, np.ndarray]: ...
    def count_faces(self) -> int: ...
    def changes_since(self, since: int) -> Delta: ...
    def search(self, queries: np.ndarray, k: int) -> Neighbours: ...
    def gallery_id(self) -> str: ...
    def index_dir(self) -> Optional[Path]: ...
    def import_training(self, key: str, names: list[str], faces: list[NewFace], labels: np.ndarray,
                        who: Optional[str] = None) -> Optional[Change]: ...
    def add_sightings(self, sightings: list, vecs: np.ndarray) -> int: ...
    def add_sightings_many(self, chunks: Iterable, total: int = 0) -> int: ...
    def count_sightings(self) -> int: ...
    def search_sightings(self, query: np.ndarray, k: int = 10) -> list: ...
    def iter_sightings(self, batch: int = 20000) -> Iterator[tuple[list, np.ndarray]]: ...
    # people grouped from the sightings (people.py)
    def people_overview(self) -> list[Person]: ...
    def person(self, ref: str) -> Person: ...
    def person_sightings(self, person_id: int) -> tuple[list, np.ndarray, np.ndarray]: ...
    def sighting(self, sid: int) -> object: ...
    def gallery_faces(self) -> object: ...
    def grouping_faces(self, k: int, max_distance: float) -> object: ...
    def apply_assignment(self, result: object, full: bool = False, who: Optional[str] = None) -> Change: ...
    def name_person(self, person_id: int, name: str, who: Optional[str] = None) -> Change: ...
    def move_faces(self, sighting_ids: list[int], person_id: Optional[int], who: Optional[str] = None) -> Change: ...
    def not_person(self, sighting_ids: list[int], person_id: int, who: Optional[str] = None) -> Change: ...
    def merge_people(self, keep: int, other: int, who: Optional[str] = None) -> Change: ...
    def split_person(self, person_id: int, sighting_ids: list[int], who: Optional[str] = None) -> Change: ...
    def keep_apart(self, a: int, b: int, who: Optional[str] = None) -> Change: ...
    def close(self) -> None: ...


def strip_password(url: str) -> str:
    """`url` without a password (kept out of files; PostgreSQL then reads PGPASSWORD)."""
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = (parts.username or "") + "@" + (parts.hostname or "") + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))


def _settings(model_dir: Path) -> dict:
    """MODEL_DIR/gallery.json ({} when there is none)."""
    path = Path(model_dir) / SETTINGS
    if not path.is_file():
        return {}
    try:
        settings = json.loads(path.read_text())
        if not isinstance(settings, dict):
            raise ValueError("not a JSON object")
        return settings
    except (OSError, ValueError) as exc:
        raise GalleryError(f"{path} is unreadable ({exc}); fix or delete it") from None


def gallery_url(model_dir: Path, url: Optional[str] = None) -> Optional[str]:
    """The PostgreSQL URL this model's gallery lives at, or None for the SQLite file."""
    if url:
        return url
    if os.environ.get(ENV_URL):
        return os.environ[ENV_URL]
    return _settings(model_dir).get("url") or None


def trash_days(model_dir: Path) -> Optional[float]:
    """Days the trash keeps removed faces (so `undo` can bring them back) before they are erased: CELEBFACE_TRASH_DAYS,
    else "trash_days" in MODEL_DIR/gallery.json, else DEFAULT_TRASH_DAYS; "never" keeps them for ever (None)."""
    raw, where = os.environ.get(ENV_TRASH_DAYS) or None, ENV_TRASH_DAYS
    if raw is None:
        raw, where = _settings(model_dir).get("trash_days"), f"trash_days in {Path(model_dir) / SETTINGS}"
    if raw is None:
        return DEFAULT_TRASH_DAYS
    if str(raw).strip().lower() == "never":
        return None
    try:
        days = float(raw)
    except (TypeError, ValueError):
        days = -1.0
    if not math.isfinite(days) or days < 0:
        raise GalleryError(f"{where} is {raw!r}: give a number of days (0 or more), or 'never' to keep the trash "
                           f"for ever")
    return days


def save_gallery_url(model_dir: Path, url: Optional[str]) -> None:
    """Remember the gallery choice in MODEL_DIR/gallery.json (without a password; other settings are kept)."""
    from ..io.fileio import write_json

    write_json(Path(model_dir) / SETTINGS, {**_settings(model_dir), "url": strip_password(url) if url else None})


def open_store(model_dir: Union[str, Path], backbone: str, dim: int, url: Optional[str] = None,
               weights: str = "") -> Store:
    """Open (creating if needed) the gallery of the model in `model_dir`.

    :param model_dir: the model folder (holds gallery.db or gallery.json)
    :param backbone: the embedding model; a gallery made by another is refused
    :param dim: embedding length
    :param url: a postgresql:// URL to use instead of the file
    :param weights: the embedding model's weights, recorded with each face
    The trash's retention comes from trash_days(model_dir).
    """
    url = gallery_url(Path(model_dir), url)
    days = trash_days(Path(model_dir))
    store: Store
    if url and url.startswith(("postgresql://", "postgres://")):
        from .postgres import PostgresStore

        store = PostgresStore(url, backbone, dim, weights)
        store.trash_days = days
        return store
    if url and not url.startswith("sqlite://"):
        raise GalleryError(f"unsupported gallery URL {url.split(':')[0]}:...; use postgresql://..., "
                           f"sqlite:///path/to/file.db, or leave it out for MODEL_DIR/{DB_FILE}")
    from .sqlite import SQLiteStore

    path = Path(url[len("sqlite://"):]) if url else Path(model_dir) / DB_FILE
    if not path.parent.is_dir():
        raise GalleryError(f"{path.parent} does not exist; make the model with `celebface init {model_dir}` first")
    store = SQLiteStore(path, backbone, dim, weights)
    store.trash_days = days
    return store
