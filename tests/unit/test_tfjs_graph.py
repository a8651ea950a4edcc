"""TF.js graph models in PyTorch (faces/tfjs_graph.py, tfjs_ops.py, tfjs_module.py) on small hand-made graphs:
weight decoding (float16, uint8 quantisation), TF's SAME padding, NHWC convolutions, fused ops, pruning."""
from __future__ import annotations

import base64

import numpy as np
import pytest


def _s(text: str) -> dict:
    return {"s": base64.b64encode(text.encode()).decode()}


def _conv_node(name: str, inputs: list[str], op: str = "Conv2D", stride: int = 2, fused: tuple = ()) -> dict:
    attr = {"padding": _s("SAME"), "strides": {"list": {"i": ["1", str(stride), str(stride), "1"]}}}
    if fused:
        attr["fused_ops"] = {"list": {"s": [_s(f)["s"] for f in fused]}}
    return {"name": name, "op": op, "input": inputs, "attr": attr}


def _conv_reference(x: np.ndarray, w: np.ndarray, stride: int, pads: tuple[int, int, int, int]) -> np.ndarray:
    """A plain NHWC convolution (HWIO kernel) on x zero-padded by (top, bottom, left, right)."""
    t, b, left, r = pads
    xp = np.pad(x, ((0, 0), (t, b), (left, r), (0, 0)))
    kh, kw = w.shape[:2]
    oh, ow = (xp.shape[1] - kh) // stride + 1, (xp.shape[2] - kw) // stride + 1
    out = np.zeros((x.shape[0], oh, ow, w.shape[3]), np.float64)
    for i in range(oh):
        for j in range(ow):
            patch = xp[:, i * stride:i * stride + kh, j * stride:j * stride + kw]
            out[:, i, j] = np.einsum("nhwc,hwco->no", patch, w)
    return out


def test_same_padding_is_tfs() -> None:
    from celebface.faces.tfjs_ops import same_padding

    # TF: total = max((ceil(in/s) - 1) * s + k - in, 0); the odd pixel goes after
    assert same_padding(224, 3, 2) == (0, 1)
    assert same_padding(7, 3, 2) == (1, 1)
    assert same_padding(6, 4, 1) == (1, 2)
    assert same_padding(5, 1, 1) == (0, 0)


def test_weights_dequantised_from_float16_and_uint8() -> None:
    from celebface.faces.tfjs_graph import decode_weights

    a = np.array([0.5, -1.25, 3.0], np.float16)
    q = np.array([0, 10, 255], np.uint8)
    specs = [{"name": "a", "shape": [3], "dtype": "float32", "quantization": {"dtype": "float16"}},
             {"name": "q", "shape": [1, 3], "dtype": "float32",
              "quantization": {"dtype": "uint8", "scale": 0.5, "min": -2.0}},
             {"name": "i", "shape": [2], "dtype": "int32"}]
    out = decode_weights(specs, a.tobytes() + q.tobytes() + np.array([7, -1], np.int32).tobytes())
    np.testing.assert_array_equal(out["a"], [0.5, -1.25, 3.0])
    np.testing.assert_allclose(out["q"], [[-2.0, 3.0, 125.5]])
    assert out["q"].dtype == np.float32 and out["i"].tolist() == [7, -1]
    with pytest.raises(ValueError, match="manifest"):
        decode_weights(specs, a.tobytes())


def test_graph_runs_like_tf_same_conv_fused_relu_and_mean() -> None:
    import torch

    from celebface.faces.tfjs_graph import graph_from_parts
    from celebface.faces.tfjs_module import GraphModule

    rng = np.random.default_rng(0)
    w1 = rng.normal(size=(3, 3, 3, 4)).astype(np.float32)
    dw = rng.normal(size=(3, 3, 4, 1)).astype(np.float32)
    bias = rng.normal(size=4).astype(np.float32)
    topology = {"node": [
        {"name": "x", "op": "Placeholder"}, {"name": "w1", "op": "Const"}, {"name": "dw", "op": "Const"},
        {"name": "b", "op": "Const"}, {"name": "axes", "op": "Const"}, {"name": "unused", "op": "Const"},
        _conv_node("c1", ["x", "w1"]),
        _conv_node("d1", ["c1", "dw", "b"], "FusedDepthwiseConv2dNative", 1, ("BiasAdd", "Relu")),
        {"name": "m", "op": "Mean", "input": ["d1", "axes"], "attr": {"keep_dims": {"b": False}}},
        {"name": "dead", "op": "NoSuchOp", "input": ["unused"]}]}
    weights = {"w1": w1, "dw": dw, "b": bias, "axes": np.array([1, 2], np.int32), "unused": np.zeros(1, np.float32)}
    net = GraphModule(graph_from_parts(topology, weights), ["m", "c1"])  # "dead" is never built: not needed
    x = rng.normal(size=(2, 9, 8, 3)).astype(np.float32)
    with torch.no_grad():
        m, c1 = (t.numpy() for t in net(torch.from_numpy(x)))
    ref_c1 = _conv_reference(x, w1, 2, (1, 1, 0, 1))  # 9 rows: pad 1+1; 8 columns: pad 0+1 (TF's SAME)
    np.testing.assert_allclose(c1, ref_c1, rtol=1e-4, atol=1e-4)
    dense = np.zeros((3, 3, 4, 4), np.float32)  # the depthwise kernel as a diagonal full kernel
    for c in range(4):
        dense[:, :, c, c] = dw[:, :, c, 0]
    ref_d1 = np.maximum(_conv_reference(ref_c1, dense, 1, (1, 1, 1, 1)) + bias, 0)
    np.testing.assert_allclose(m, ref_d1.mean(axis=(1, 2)), rtol=1e-4, atol=1e-4)
    with pytest.raises(NotImplementedError, match="NoSuchOp"):
        GraphModule(graph_from_parts(topology, weights), ["dead"])


def _batchnorm_relu6_graph(rng: np.random.Generator) -> tuple[dict, dict]:
    """Keras MobileNet as faceres is exported: depthwise conv -> Mul -> Add -> Relu -> Minimum(6) -> Maximum(0),
    then a 1x1 conv -> Add -> Relu whose Relu is also read by a second node (so only conv and Add may fold)."""
    def n(name: str, op: str, inputs: list[str]) -> dict:
        return {"name": name, "op": op, "input": inputs}

    topology = {"node": [
        n("x", "Placeholder", []), *(n(c, "Const", []) for c in ("dw", "scale", "shift", "six", "zero", "pw", "b2")),
        _conv_node("d", ["x", "dw"], "DepthwiseConv2dNative", 2), n("mul", "Mul", ["d", "scale"]),
        n("add", "Add", ["mul", "shift"]), n("relu", "Relu", ["add"]), n("min", "Minimum", ["relu", "six"]),
        n("max", "Maximum", ["min", "zero"]), _conv_node("p", ["max", "pw"], "Conv2D", 1),
        n("add2", "Add", ["p", "b2"]), n("relu2", "Relu", ["add2"]), n("sq", "Square", ["relu2"]),
        n("out", "Add", ["relu2", "sq"])]}
    weights = {"dw": rng.normal(size=(3, 3, 4, 1)), "scale": rng.normal(size=(1, 1, 1, 4)),
               "shift": rng.normal(size=4) * 3, "six": np.array(6.0), "zero": np.array(0.0),
               "pw": rng.normal(size=(1, 1, 4, 5)), "b2": rng.normal(size=5)}
    return topology, {k: np.asarray(v, np.float32) for k, v in weights.items()}


def test_folding_batchnorm_and_relu6_into_convolutions_keeps_the_outputs() -> None:
    import torch

    from celebface.faces.tfjs_fold import fold_graph
    from celebface.faces.tfjs_graph import graph_from_parts
    from celebface.faces.tfjs_module import GraphModule

    rng = np.random.default_rng(1)
    graph = graph_from_parts(*_batchnorm_relu6_graph(rng))
    folded = fold_graph(graph, ["out"])
    ops = {node.name: node.op for node in folded.nodes}
    # the depthwise chain became one fused node named as its last node; its five elementwise nodes are gone
    assert ops["max"] == "FusedDepthwiseConv2dNative" and folded.node("max").get("fused_ops") == ["BiasAdd", "Relu6"]
    assert not {"d", "mul", "add", "relu", "min"} & set(ops)
    # the 1x1 conv takes its bias and its Relu; the Relu's two readers still read "relu2"
    assert ops["relu2"] == "_FusedConv2D" and folded.node("relu2").get("fused_ops") == ["BiasAdd", "Relu"]
    assert [node.op for node in graph.nodes].count("Mul") == 1  # the caller's graph is left as it was
    x = torch.from_numpy((rng.normal(size=(2, 9, 8, 4)) * 4).astype(np.float32))
    with torch.no_grad():
        plain = GraphModule(graph, ["out"], fold=False)(x).numpy()
        fused = GraphModule(graph, ["out"])(x).numpy()
        pre = GraphModule(graph, ["add"], fold=False)(x).numpy()
    assert (pre > 6).any() and (pre < 0).any()  # both ends of Relu6 are exercised
    assert (plain > 0).any() and plain.shape == (2, 5, 4, 5)
    np.testing.assert_allclose(fused, plain, rtol=1e-5, atol=1e-5)
    kept = fold_graph(graph, ["out", "add"])  # a node that is read as an output is never absorbed
    assert "add" in {node.name for node in kept.nodes}
