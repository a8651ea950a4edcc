"""Where the index job reads and writes: local paths or any pyarrow filesystem URI (s3://, gs://, hdfs://...).

Local folders use celebface.io.fileio's atomic writes; other filesystems write a temporary object and move it.
"""
from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from ..errors import DataError
from .shards import MANIFEST_DIR, ShardEntry, Source


def is_uri(location: str) -> bool:
    return "://" in str(location)


@dataclass(frozen=True)
class Store:
    """A results folder: `root` on `fs` (a pyarrow FileSystem), or a local folder when fs is None."""

    root: str
    fs: object = None

    @classmethod
    def open(cls, location: str) -> "Store":
        """:param location: a local folder or a pyarrow filesystem URI"""
        if not is_uri(location):
            return cls(str(Path(location).resolve()))
        from pyarrow import fs as pafs

        fs, root = pafs.FileSystem.from_uri(str(location))
        fs.create_dir(root, recursive=True)
        return cls(root, fs)

    def join(self, *parts: str) -> str:
        return "/".join([self.root.rstrip("/"), *parts])

    def write_bytes(self, rel: str, data: bytes) -> None:
        """Write `data` at ROOT/rel so that it appears complete or not at all."""
        if self.fs is None:
            from ..io.fileio import atomic_path

            with atomic_path(Path(self.join(rel))) as tmp:
                tmp.write_bytes(data)
            return
        final = self.join(rel)
        self.fs.create_dir(final.rsplit("/", 1)[0], recursive=True)
        tmp = f"{final}.{uuid.uuid4().hex}.tmp"
        with self.fs.open_output_stream(tmp) as f:
            f.write(data)
        self.fs.move(tmp, final)

    def read_text(self, path: str) -> str:
        if self.fs is None:
            return Path(path).read_text(encoding="utf-8")
        with self.fs.open_input_stream(path) as f:
            return f.read().decode("utf-8")

    def list_files(self, rel: str, suffix: str) -> list[str]:
        """Full paths of the files ending in `suffix` directly in ROOT/rel (none if it does not exist)."""
        folder = self.join(rel) if rel else self.root
        if self.fs is None:
            p = Path(folder)
            return sorted(str(f) for f in p.iterdir() if f.name.endswith(suffix)) if p.is_dir() else []
        from pyarrow import fs as pafs

        infos = self.fs.get_file_info(pafs.FileSelector(folder, allow_not_found=True))
        return sorted(i.path for i in infos if i.is_file and i.path.endswith(suffix))

    def entries(self) -> list[ShardEntry]:
        """The manifest: one entry per finished shard whose Parquet file is there."""
        shards = {p.rsplit("/", 1)[-1] for p in self.list_files("", ".parquet")}
        out = []
        for path in self.list_files(MANIFEST_DIR, ".json"):
            entry = ShardEntry.from_json(self.read_text(path))
            if f"shard-{entry.shard_id}.parquet" in shards:
                out.append(entry)
        return out


def list_sources(locations: list[str]) -> list[Source]:
    """Every photo and video under the given files, folders or URIs (sorted, each once).

    :param locations: local files or folders, or pyarrow filesystem URIs of files or folders
    """
    out: dict[str, Source] = {}
    for loc in map(str, locations):
        for src in (_list_uri(loc) if is_uri(loc) else _list_local(loc)):
            out.setdefault(src.path, src)
    if not out:
        raise DataError(f"no photos or videos found in {', '.join(map(str, locations))}; give photo or video "
                        f"files or folders")
    return [out[k] for k in sorted(out)]


def _list_local(loc: str) -> list[Source]:
    from ..io.sources import expand_paths

    if not os.path.exists(loc):
        raise DataError(f"{loc} does not exist; give photo files or folders every node can read")
    out = []
    for p in expand_paths([Path(loc)], videos=True):
        st = p.stat()
        out.append(Source(str(p.resolve()), st.st_size, st.st_mtime_ns))
    return out


def _list_uri(loc: str) -> list[Source]:
    from pyarrow import fs as pafs

    from ..io.images import is_image_name
    from ..io.video import is_video_name

    fs, root = pafs.FileSystem.from_uri(loc)
    info = fs.get_file_info(root)
    infos = [info] if info.is_file else fs.get_file_info(pafs.FileSelector(root, recursive=True))
    scheme = loc.split("://", 1)[0]
    return [Source(f"{scheme}://{i.path}", int(i.size or 0), int(i.mtime_ns or 0))
            for i in infos if i.is_file and (is_image_name(i.path) or is_video_name(i.path))]


def read_source(path: str) -> bytes:
    """The bytes of one photo, from a local path or a pyarrow filesystem URI."""
    if not is_uri(path):
        return Path(path).read_bytes()
    from pyarrow import fs as pafs

    fs, p = pafs.FileSystem.from_uri(path)
    with fs.open_input_stream(p) as f:
        return f.read()


@contextmanager
def local_copy(path: str) -> Iterator[str]:
    """A local file path for `path`: the path itself, or for a URI a temporary copy (streamed, removed after),
    since the video decoder reads local files.

    :param path: a local path or a pyarrow filesystem URI
    """
    if not is_uri(path):
        yield path
        return
    from pyarrow import fs as pafs

    fs, p = pafs.FileSystem.from_uri(path)
    fd, tmp = tempfile.mkstemp(suffix=Path(p).suffix, prefix="celebface-")
    try:
        with os.fdopen(fd, "wb") as out, fs.open_input_stream(p) as src:
            shutil.copyfileobj(src, out, 1 << 20)
        yield tmp
    finally:
        os.unlink(tmp)
