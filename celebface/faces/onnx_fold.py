"""Repairing and simplifying an ONNX graph once, at install time: graph inputs no node reads are removed (some
exporters list every old weight name as an input, which onnxruntime then demands), and nodes whose inputs are all
constant (e.g. the DequantizeLinear + Reshape that rebuild int8 block-quantised weights at every run) are evaluated
once by onnxruntime and stored as float32 initialisers."""
from __future__ import annotations

import numpy as np


def prune_unused_inputs(model) -> int:
    """Remove the graph inputs that no node reads, and those that are initialisers (constants); returns how many
    were removed.

    :param model: an onnx.ModelProto, changed in place"""
    graph = model.graph
    read = {name for node in graph.node for name in node.input}
    constants = {init.name for init in graph.initializer}
    keep = [i for i in graph.input if i.name in read and i.name not in constants]
    removed = len(graph.input) - len(keep)
    del graph.input[:]
    graph.input.extend(keep)
    return removed


def constant_nodes(model) -> list:
    """The nodes whose every input is an initialiser or another such node's output (in graph order)."""
    graph = model.graph
    known = {init.name for init in graph.initializer} | {""}
    out = []
    for node in graph.node:  # ONNX graphs are topologically sorted: one pass finds every constant chain
        if node.op_type != "Constant" and all(name in known for name in node.input):
            out.append(node)
            known.update(node.output)
    return out


def _evaluate(model, names: list[str]) -> list[np.ndarray]:
    """The values of the tensors `names` (constants) of `model`, computed by onnxruntime with zero inputs."""
    import onnx
    import onnxruntime as ort

    probe = onnx.ModelProto()
    probe.CopyFrom(model)
    probe.graph.output.extend([onnx.helper.make_empty_tensor_value_info(n) for n in names])
    options = ort.SessionOptions()
    options.log_severity_level = 3
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    session = ort.InferenceSession(probe.SerializeToString(), options, providers=["CPUExecutionProvider"])
    feed = {i.name: np.zeros([d if isinstance(d, int) else 1 for d in i.shape], np.float32)
            for i in session.get_inputs()}
    return session.run(names, feed)


def fold_constants(model) -> int:
    """Replace every constant node chain read by the rest of the graph with its value as an initialiser; returns
    how many nodes were folded. Unused initialisers are dropped.

    :param model: an onnx.ModelProto, changed in place"""
    from onnx import numpy_helper

    graph = model.graph
    fold = constant_nodes(model)
    folded = {id(n) for n in fold}
    rest = [n for n in graph.node if id(n) not in folded]
    produced = {name for n in fold for name in n.output}
    needed = sorted({name for n in rest for name in n.input if name in produced})
    values = _evaluate(model, needed) if needed else []
    del graph.node[:]
    graph.node.extend(rest)
    graph.initializer.extend(numpy_helper.from_array(np.asarray(v), name) for name, v in zip(needed, values))
    read = {name for n in rest for name in n.input} | {o.name for o in graph.output}
    keep = [init for init in graph.initializer if init.name in read]
    del graph.initializer[:]
    graph.initializer.extend(keep)
    return len(fold)


def dynamic_batch(model, name: str = "batch") -> None:
    """Make the first axis of every graph input and output a free dimension `name` (a graph exported for batch 1
    then runs any batch), dropping the intermediate shapes recorded for batch 1.

    :param model: an onnx.ModelProto, changed in place"""
    for value in list(model.graph.input) + list(model.graph.output):
        dims = value.type.tensor_type.shape.dim
        if len(dims):
            dims[0].Clear()
            dims[0].dim_param = name
    del model.graph.value_info[:]
