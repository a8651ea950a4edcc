"""Writing files and folders atomically: write beside, then rename, so nothing is ever half-written."""
from __future__ import annotations

import json
import os
import shutil
import stat
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any, Iterator, Optional, Union


def _umask() -> int:
    """The process's umask, read without changing it (os.umask would, for a moment, for every thread)."""
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            return int(next(line for line in f if line.startswith("Umask:")).split()[1], 8)
    except (OSError, StopIteration, ValueError):
        return 0o022


def usual_mode() -> int:
    """The permissions a new file gets from open() under this process's umask (0644 under umask 022)."""
    return 0o666 & ~_umask()


@contextmanager
def atomic_path(path: Path) -> Iterator[Path]:
    """Yield a temporary path beside `path`; when the body succeeds it is fsynced and renamed onto `path`.

    A failure (or a kill) leaves `path` as it was and removes the temporary file.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    tmp = Path(name)
    os.chmod(tmp, usual_mode())  # mkstemp makes 0600; the final file gets the usual permissions
    try:
        yield tmp
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


@contextmanager
def atomic_open(path: Path, mode: str = "w") -> Iterator[IO]:
    """Open a file for writing that appears at `path` complete, or not at all."""
    with atomic_path(path) as tmp:
        with open(tmp, mode, **({} if "b" in mode else {"encoding": "utf-8"})) as f:
            yield f


def not_a_file(path: Union[str, os.PathLike]) -> Optional[str]:
    """Why `path` cannot be read as a file without blocking or failing oddly (a FIFO, socket, device or folder,
    also behind a symlink), or None for a regular file or a path that does not exist. Never opens it.

    :param path: a path given by the user
    """
    try:
        mode = os.stat(path).st_mode
    except (OSError, ValueError):
        return None  # missing or unreadable: opening it says so
    if stat.S_ISREG(mode):
        return None
    kind = ("a folder" if stat.S_ISDIR(mode) else "a FIFO (named pipe)" if stat.S_ISFIFO(mode) else
            "a socket" if stat.S_ISSOCK(mode) else "a device")
    return f"{kind}, not a regular file; give a photo or video file"


def stat_key(path: Union[str, os.PathLike]) -> str:
    """"resolved path|size|mtime_ns": a cache key that changes when the file is replaced or edited.

    :param path: a file.
    """
    st = Path(path).stat()
    return f"{Path(path).resolve()}|{st.st_size}|{st.st_mtime_ns}"


def write_json(path: Path, data: Any) -> None:
    """Write JSON to `path` through a temporary file and an atomic rename."""
    with atomic_open(path) as f:
        json.dump(data, f, indent=1, ensure_ascii=False)


def read_json(path: Path) -> Any:
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def save_image(img, path: Path, quality: int = 95) -> None:
    """Save a PIL image atomically (format from the suffix)."""
    fmt = "JPEG" if Path(path).suffix.lower() in (".jpg", ".jpeg") else "PNG"
    with atomic_path(path) as tmp:
        img.save(tmp, format=fmt, quality=quality) if fmt == "JPEG" else img.save(tmp, format=fmt)


@contextmanager
def atomic_dir(final: Path) -> Iterator[Path]:
    """Yield a fresh temporary folder beside `final`; on success it replaces `final` in one rename.

    If the body fails, the temporary folder is removed and any old `final` is left exactly as it was.
    """
    final = Path(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=final.parent, prefix=f".{final.name}.new."))
    try:
        yield tmp
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    old = None
    if final.exists():
        old = final.parent / f".{final.name}.old.{os.getpid()}"
        os.replace(final, old)
    os.replace(tmp, final)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
