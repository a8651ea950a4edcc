"""faces/onnx_fold.py on a small graph built here: unused graph inputs are removed, the constant
DequantizeLinear(block) + Reshape chain that rebuilds an int8 weight becomes one float32 initialiser with the same
outputs, and the batch axis is freed."""
from __future__ import annotations

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")


def _block_quantised_matmul() -> tuple:
    """y = x @ W with W (4, 3) stored as int8 blocks of 2 along axis 0 (scales per block), as the SFace file does,
    plus an unused graph input naming the old float weight."""
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(0)
    q = rng.integers(-100, 100, (12,), dtype=np.int8).reshape(6, 2)  # (6, 2) blocks, reshaped to (4, 3) later
    scales = rng.uniform(0.01, 0.05, (3, 2)).astype(np.float32)
    zero = np.zeros((3, 2), np.int8)
    inits = [numpy_helper.from_array(q, "w_q"), numpy_helper.from_array(scales, "w_s"),
             numpy_helper.from_array(zero, "w_z"), numpy_helper.from_array(np.array([4, 3], np.int64), "w_shape")]
    nodes = [helper.make_node("DequantizeLinear", ["w_q", "w_s", "w_z"], ["w_dq"], axis=0, block_size=2),
             helper.make_node("Reshape", ["w_dq", "w_shape"], ["w"]),
             helper.make_node("MatMul", ["x", "w"], ["y"])]
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4]),
                                           helper.make_tensor_value_info("old_w", TensorProto.FLOAT, [4, 3])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 3])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 21)])
    weight = ((q.astype(np.float32) - 0) * np.repeat(scales, 2, axis=0)).reshape(4, 3)
    return model, weight


def _run(model, x: np.ndarray) -> np.ndarray:
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return session.run(None, {"x": x})[0]


def test_fold_keeps_outputs_and_leaves_float_weights() -> None:
    from celebface.faces.onnx_fold import dynamic_batch, fold_constants, prune_unused_inputs

    model, weight = _block_quantised_matmul()
    with pytest.raises(Exception):
        _run(model, np.ones((1, 4), np.float32))  # onnxruntime demands the unused input, as with SFace's file
    assert prune_unused_inputs(model) == 1
    assert [i.name for i in model.graph.input] == ["x"]
    x = np.random.default_rng(1).normal(size=(1, 4)).astype(np.float32)
    before = _run(model, x)
    np.testing.assert_allclose(before, x @ weight, rtol=1e-5, atol=1e-6)
    assert fold_constants(model) == 2
    assert [n.op_type for n in model.graph.node] == ["MatMul"]
    (init,) = model.graph.initializer
    assert init.name == "w" and init.data_type == onnx.TensorProto.FLOAT
    np.testing.assert_allclose(_run(model, x), before, rtol=1e-6, atol=1e-6)
    dynamic_batch(model)
    x5 = np.random.default_rng(2).normal(size=(5, 4)).astype(np.float32)
    np.testing.assert_allclose(_run(model, x5), x5 @ weight, rtol=1e-5, atol=1e-6)
