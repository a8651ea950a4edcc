"""The PyTorch port of the TF.js face networks (faces/tfjs_*.py) against the reference runtime, @tensorflow/tfjs
run by Node (tests/fixtures/tfjs_reference.js), on real sports5 faces cut as celebface cuts them.

Needs the converted weights and @tensorflow/tfjs in the cache, both put there by `make test`'s install step
(`make weights tfjs-reference`). Skipped, saying why, only where node or @tensorflow/tfjs is missing.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from conftest import cosines

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "tfjs_reference.js"
#: The port's outputs may differ from TF.js's by float32 rounding only: at most this share of the output's range
#: (measured: about 1e-6 relative on these faces).
REL_TOL = 1e-4


def _node_modules() -> Path:
    from celebface.faces.human_files import cache_root

    return cache_root() / "node" / "node_modules"


def _need_reference() -> None:
    if shutil.which("node") is None:
        pytest.skip("node is not installed: the TF.js reference runtime cannot run (`make test` needs Node.js/npm)")
    if not (_node_modules() / "@tensorflow" / "tfjs" / "package.json").is_file():
        pytest.skip(f"@tensorflow/tfjs is not installed in {_node_modules()}: run `make tfjs-reference`")


def run_reference(model_json: Path, x: np.ndarray, output: str, tmp: Path) -> np.ndarray:
    """`output` of the TF.js graph model for input x (NHWC float32), computed by @tensorflow/tfjs in Node."""
    src, dst = tmp / "in.f32", tmp / "out.f32"
    np.ascontiguousarray(x, np.float32).tofile(src)
    env = dict(os.environ, NODE_PATH=str(_node_modules()))
    done = subprocess.run(["node", str(FIXTURE), str(model_json), str(src), ",".join(map(str, x.shape)), output,
                           str(dst)], env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    shape = [len(x) if s == -1 else s for s in json.loads(done.stdout.strip().splitlines()[-1])]
    return np.fromfile(dst, np.float32).reshape(shape)


@pytest.fixture(scope="module")
def crops(sports5_crops) -> list[tuple[str, Image.Image]]:
    """(person, crop) of 2 photos each of 3 sports5 people (conftest's sports5_crops)."""
    return sports5_crops


@pytest.mark.parametrize("name", ["faceres", "faceres-deep", "mobileface", "mobilefacenet"])
def test_port_matches_tfjs_on_real_faces(name: str, crops, tmp_path: Path) -> None:
    import torch

    from celebface.faces.human_files import load_graph, tfjs_model_path
    from celebface.faces.human_models import SPECS, FaceresEmbedder, MobileFaceEmbedder, network_input
    from celebface.faces.tfjs_module import GraphModule

    _need_reference()
    spec = SPECS[name]
    feeder = MobileFaceEmbedder() if spec.aligned else FaceresEmbedder()  # makes the inputs the network is fed
    x = network_input(spec, feeder.inputs([c for _, c in crops]))
    with torch.inference_mode():
        port = GraphModule(load_graph(name), [spec.output]).eval()(torch.from_numpy(x)).numpy()
    ref = run_reference(tfjs_model_path(name), x, spec.output, tmp_path)
    assert port.shape == ref.shape == (len(crops), spec.dim)
    err = np.abs(port - ref).max()
    assert err <= REL_TOL * np.abs(ref).max(), (name, err, np.abs(ref).max())


def test_faceres_tells_people_apart_and_ignores_mirroring(crops) -> None:
    from celebface.faces.human_models import FaceresEmbedder

    emb = FaceresEmbedder(flip=False)
    images = [c for _, c in crops]
    people = np.array([p for p, _ in crops])
    a = emb.embed(images)
    m = emb.embed([c.transpose(Image.FLIP_LEFT_RIGHT) for c in images])
    assert a.shape == (6, emb.dim) == (6, 1024) and a.dtype == np.float32
    centre = np.concatenate([a, m]).mean(0)  # its pooled features are all >= 0: compare them centred
    sims = cosines(a - centre, a - centre)
    mirror = np.diag(cosines(a - centre, m - centre))
    other = sims[people[:, None] != people[None]]
    same = sims[(people[:, None] == people[None]) & ~np.eye(6, dtype=bool)]
    assert mirror.min() > other.max() + 0.2, (mirror, other.max())
    assert same.mean() > other.mean() + 0.2, (same, other)
    flipped = FaceresEmbedder().embed(images)  # flip=True: the mean of both views
    np.testing.assert_allclose(flipped, (a + m) / 2, rtol=1e-4, atol=1e-5)
