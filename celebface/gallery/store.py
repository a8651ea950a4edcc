"""Which gallery a model uses: MODEL_DIR/gallery.db (SQLite) unless a PostgreSQL URL is given.

The URL comes from, in order: the `url` argument (`--gallery`), the CELEBFACE_GALLERY environment variable, or
MODEL_DIR/gallery.json (written by `celebface init --gallery URL`, never with a password in it).
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Iterable, Iterator, Optional, Protocol, Union

import numpy as np

from ..errors import GalleryError
from .records import Change, Delta, Neighbours, NewFace, Person

ENV_URL = "CELEBFACE_GALLERY"
SETTINGS = "gallery.json"
DB_FILE = "gallery.db"


class Store(Protocol):
    """What the matcher, the CLI and the service need from a gallery (SQLiteStore and PostgresStore are ones)."""
    kind: str  # "sqlite" | "postgresql"
    backbone: str  # the model whose embeddings it holds
    dim: int
    weights: str

    def add(self, name: str, faces: list[NewFace], who: Optional[str] = None, replace: bool = False,
            metadata: Optional[dict] = None) -> Change: ...
    def forget(self, name: str, who: Optional[str] = None) -> Change: ...
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
    def close(self) -> None: ...


def strip_password(url: str) -> str:
    """`url` without a password (kept out of files; PostgreSQL then reads PGPASSWORD)."""
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = (parts.username or "") + "@" + (parts.hostname or "") + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))


def gallery_url(model_dir: Path, url: Optional[str] = None) -> Optional[str]:
    """The PostgreSQL URL this model's gallery lives at, or None for the SQLite file."""
    if url:
        return url
    if os.environ.get(ENV_URL):
        return os.environ[ENV_URL]
    path = Path(model_dir) / SETTINGS
    if path.is_file():
        try:
            return json.loads(path.read_text()).get("url") or None
        except (OSError, ValueError, AttributeError) as exc:
            raise GalleryError(f"{path} is unreadable ({exc}); fix or delete it") from None
    return None


def save_gallery_url(model_dir: Path, url: Optional[str]) -> None:
    """Remember the gallery choice in MODEL_DIR/gallery.json (without a password)."""
    from ..io.fileio import write_json

    write_json(Path(model_dir) / SETTINGS, {"url": strip_password(url) if url else None})


def open_store(model_dir: Union[str, Path], backbone: str, dim: int, url: Optional[str] = None,
               weights: str = "") -> Store:
    """Open (creating if needed) the gallery of the model in `model_dir`.

    :param model_dir: the model folder (holds gallery.db or gallery.json)
    :param backbone: the embedding model; a gallery made by another is refused
    :param dim: embedding length
    :param url: a postgresql:// URL to use instead of the file
    """
    url = gallery_url(Path(model_dir), url)
    if url and url.startswith(("postgresql://", "postgres://")):
        from .postgres import PostgresStore

        return PostgresStore(url, backbone, dim, weights)
    if url and not url.startswith("sqlite://"):
        raise GalleryError(f"unsupported gallery URL {url.split(':')[0]}:...; use postgresql://..., "
                           f"sqlite:///path/to/file.db, or leave it out for MODEL_DIR/{DB_FILE}")
    from .sqlite import SQLiteStore

    path = Path(url[len("sqlite://"):]) if url else Path(model_dir) / DB_FILE
    if not path.parent.is_dir():
        raise GalleryError(f"{path.parent} does not exist; make the model with `celebface init {model_dir}` first")
    return SQLiteStore(path, backbone, dim, weights)
