"""A trained model on disk: weights as safetensors plus JSON, never unpickled, never half-written.

MODEL_DIR holds complete, immutable versions and a `current` link that is switched in one atomic rename:

    MODEL_DIR/current -> versions/v0003      what every reader loads
    MODEL_DIR/versions/v0001 ... v0003       the last KEEP_VERSIONS complete bundles
    MODEL_DIR/.lock                           writers (train, enrol) take it; readers never wait

A crash at any instant leaves `current` pointing at a complete bundle (the old or the new one); leftover
temporary folders are removed by the next writer. A folder that exists and is not a celebface model is never
written into. Models of the first layout (config.json directly in MODEL_DIR) still load, and are converted
to this layout the first time they are written.
"""
from __future__ import annotations

import contextlib
import fcntl
import os
import platform
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator, Optional

import numpy as np
import torch

from ..errors import BundleError
from ..io.fileio import atomic_path, read_json, usual_mode, write_json
from ..io.model_files import bundle_dir  # noqa: F401  (re-exported: callers import it from here)

FORMAT = 1
KEEP_VERSIONS = 3
FILES = ("config.json", "model.safetensors", "gallery.safetensors", "metrics.json")


@dataclass
class Bundle:
    config: dict  # classes, backbone, head, preprocessing, threshold, versions...
    state: dict[str, torch.Tensor]  # classifier weights ("backbone.*", "head.*")
    gallery: np.ndarray  # (G, D) training-face features, for "unknown" and enrolment
    gallery_labels: np.ndarray  # (G,)
    metrics: dict = field(default_factory=dict)
    extra_files: dict[str, Path] = field(default_factory=dict)  # e.g. plots, copied in as they are
    version: str = ""  # the versions/ folder it was loaded from ("" for the first layout or unsaved)

    @property
    def classes(self) -> list[str]:
        return list(self.config["classes"])


def versions() -> dict[str, str]:
    import importlib.metadata as md

    out = {"python": platform.python_version()}
    for pkg in ("celebface", "torch", "torchvision", "timm", "facenet-pytorch", "dlib-bin", "numpy"):
        try:
            out[pkg] = md.version(pkg)
        except md.PackageNotFoundError:
            pass
    return out


def is_model_dir(path: Path) -> bool:
    """True for a celebface model folder (either layout)."""
    return (bundle_dir(Path(path)) / "config.json").is_file()


def require_model_dir(model_dir: Path) -> None:
    """Raise BundleError unless MODEL_DIR is a celebface model folder (checked before anything is opened or made)."""
    if not is_model_dir(Path(model_dir)):
        raise BundleError(f"{model_dir} is not a celebface model folder (no config.json); make one with "
                          f"`celebface init {model_dir}` or `celebface train WORK_DIR --out {model_dir}`")


def check_writable(model_dir: Path) -> None:
    """Refuse, before any work, a MODEL_DIR that exists, holds something and is not a celebface model."""
    model_dir = Path(model_dir)
    if model_dir.exists() and not model_dir.is_dir():
        raise BundleError(f"{model_dir} is a file, not a model folder; choose another --out")
    if model_dir.is_dir() and any(model_dir.iterdir()) and not is_model_dir(model_dir):
        raise BundleError(f"{model_dir} exists and is not a celebface model; refusing to write into it "
                          f"(nothing was changed). Choose a new or empty folder for --out")


@contextlib.contextmanager
def writer_lock(model_dir: Path, timeout: float = 600.0) -> Iterator[None]:
    """Exclusive lock for everything that changes MODEL_DIR (other processes wait, up to `timeout` s)."""
    model_dir = Path(model_dir)
    model_dir.mkdir(parents=True, exist_ok=True)
    with open(model_dir / ".lock", "a+") as f:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise BundleError(f"{model_dir} is being changed by another process; try again later") from None
                time.sleep(0.05)
        try:
            yield
        finally:
            fcntl.flock(f.fileno(), fcntl.LOCK_UN)


def _write_files(bundle: Bundle, folder: Path) -> None:
    from safetensors.torch import save_file

    save_file({k: v.detach().cpu().contiguous() for k, v in bundle.state.items()}, str(folder / "model.safetensors"))
    save_file({"features": torch.from_numpy(np.ascontiguousarray(bundle.gallery, dtype=np.float32)),
               "labels": torch.from_numpy(np.ascontiguousarray(bundle.gallery_labels, dtype=np.int64))},
              str(folder / "gallery.safetensors"))
    write_json(folder / "config.json", {"format": FORMAT, **bundle.config, "versions": versions()})
    write_json(folder / "metrics.json", bundle.metrics)
    for name, src in bundle.extra_files.items():
        if Path(src).exists():
            shutil.copyfile(src, folder / name)
    mode = usual_mode()
    for f in folder.iterdir():
        os.chmod(f, mode)  # safetensors writes 0600: every file of a bundle gets the umask's usual permissions
        with open(f, "rb") as fh:
            os.fsync(fh.fileno())


def _next_version(vdir: Path) -> str:
    numbers = [int(p.name[1:]) for p in vdir.glob("v[0-9]*") if p.name[1:].isdigit()]
    return f"v{max(numbers, default=0) + 1:04d}"


def save_bundle(bundle: Bundle, model_dir: Path, lock: bool = True) -> str:
    """Write a new complete version and switch `current` to it atomically; returns the version's name.

    The old version is kept until the new one is complete, and the last KEEP_VERSIONS versions stay.
    lock=False: the caller already holds `writer_lock(model_dir)`.
    """
    model_dir = Path(model_dir)
    check_writable(model_dir)
    with writer_lock(model_dir) if lock else contextlib.nullcontext():
        vdir = model_dir / "versions"
        vdir.mkdir(exist_ok=True)
        for stale in vdir.glob(".new.*"):  # left by a writer that was killed
            shutil.rmtree(stale, ignore_errors=True)
        name = _next_version(vdir)
        tmp = vdir / f".new.{name}.{os.getpid()}"
        tmp.mkdir()
        try:
            _write_files(bundle, tmp)
            os.rename(tmp, vdir / name)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        _adopt_copied_current(model_dir, vdir)
        _switch_current(model_dir, f"versions/{name}")
        _retire_first_layout(model_dir)
        _prune(vdir)
        bundle.version = name
        return name


def _switch_current(model_dir: Path, target: str) -> None:
    """Point MODEL_DIR/current at `target` with one rename (a reader sees the old or the new link)."""
    link = model_dir / f".current.{os.getpid()}"
    link.unlink(missing_ok=True)
    os.symlink(target, link)
    os.replace(link, model_dir / "current")
    fd = os.open(model_dir, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _adopt_copied_current(model_dir: Path, vdir: Path) -> None:
    """A model copied without links has `current` as a real folder: keep it as a version of its own."""
    cur = model_dir / "current"
    if cur.is_dir() and not cur.is_symlink():
        os.rename(cur, vdir / f"v0000-copied-{os.getpid()}")


def _retire_first_layout(model_dir: Path) -> None:
    """Move a first-layout bundle's files into versions/v0000 (kept, no longer read: `current` wins)."""
    if not (model_dir / "config.json").is_file():
        return
    old = model_dir / "versions" / "v0000"
    old.mkdir(exist_ok=True)
    for f in list(model_dir.iterdir()):
        if f.is_file() and (f.name in FILES or f.suffix == ".png"):
            os.replace(f, old / f.name)


def _prune(vdir: Path) -> None:
    names = sorted(p.name for p in vdir.glob("v[0-9]*") if p.is_dir())
    for name in names[:-KEEP_VERSIONS]:
        shutil.rmtree(vdir / name, ignore_errors=True)


def current_version(model_dir: Path) -> str:
    """The name of the version `current` points at ("" when it is not a link): one cheap readlink."""
    try:
        return os.readlink(Path(model_dir) / "current").rsplit("/", 1)[-1]
    except OSError:
        return ""


def load_bundle(model_dir: Path) -> Bundle:
    """Read the current bundle of MODEL_DIR; any missing, damaged or foreign content is a BundleError."""
    from safetensors.torch import load_file

    model_dir = Path(model_dir)
    require_model_dir(model_dir)
    where = bundle_dir(model_dir)
    _require_readable(model_dir, where)
    try:
        config = read_json(where / "config.json")
        metrics = read_json(where / "metrics.json") if (where / "metrics.json").exists() else {}
        state = load_file(str(where / "model.safetensors"))
        gal = load_file(str(where / "gallery.safetensors"))
    except Exception as exc:
        raise BundleError(f"{model_dir} is damaged or incomplete ({type(exc).__name__}: {exc}); train it again "
                          f"or restore an earlier version from {model_dir}/versions") from None
    _check_config(config, model_dir)
    version = where.resolve().name if where != model_dir else ""
    return Bundle(config, state, gal["features"].numpy(), gal["labels"].numpy(), metrics if isinstance(metrics, dict)
                  else {}, version=version)


def _require_readable(model_dir: Path, where: Path) -> None:
    """A bundle file this user may not read is a permission problem, not a damaged model: say so."""
    for name in ("config.json", "metrics.json", "model.safetensors", "gallery.safetensors"):
        path = where / name
        try:
            if path.exists():
                with open(path, "rb"):
                    pass
        except PermissionError:
            raise BundleError(f"{path}: permission denied; ask the model's owner to make its files readable "
                              f"(chmod -R a+rX {model_dir}) or run celebface as that user") from None


def _check_config(config: Any, model_dir: Path) -> None:
    if not isinstance(config, dict):
        raise BundleError(f"{model_dir}/config.json is not a celebface config (not a JSON object)")
    if config.get("format") != FORMAT:
        raise BundleError(f"{model_dir} has bundle format {config.get('format')!r}, this celebface reads {FORMAT}")
    need = ("classes", "backbone", "head", "feature_dim", "threshold", "preprocessing")
    missing = [k for k in need if k not in config]
    if missing:
        raise BundleError(f"{model_dir}/config.json lacks {', '.join(missing)}; train the model again")
    classes = config["classes"]
    if not isinstance(classes, list) or not all(isinstance(c, str) for c in classes) or len(set(classes)) != len(classes):
        raise BundleError(f"{model_dir}/config.json: 'classes' must be a list of distinct names")


def update_metrics(model_dir: Path, metrics: dict, extra: Optional[dict[str, Any]] = None) -> None:
    """Replace metrics.json (and add files such as plots) inside the current bundle, atomically per file."""
    where = bundle_dir(Path(model_dir))
    with writer_lock(Path(model_dir)):
        write_json(where / "metrics.json", metrics)
        for name, src in (extra or {}).items():
            with atomic_path(where / name) as tmp:
                shutil.copyfile(src, tmp)
