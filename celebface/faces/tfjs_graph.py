"""TensorFlow.js graph models (a model.json and its .bin weight shards) read in Python and run in PyTorch.

A TF.js graph model is a frozen TensorFlow GraphDef in JSON: `modelTopology.node` lists the nodes (op, inputs,
attributes) and `weightsManifest` lists the Const nodes' values, stored one after another in the shards, each as
float32 / int32, or quantised: float16, or uint8/uint16 with `value = q * scale + min`.

read_graph_model reads both into a TfjsGraph (plain numpy weights); GraphModule (tfjs_ops.py) evaluates it in
PyTorch with the graph's own NHWC semantics, as the TF.js runtime does. torch is imported only by tfjs_ops.
"""
from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

_DTYPES = {"float32": np.float32, "int32": np.int32, "bool": np.bool_, "float16": np.float16,
           "uint8": np.uint8, "uint16": np.uint16}


@dataclass(frozen=True)
class GraphNode:
    """One node of the graph: its name, op, input names (":k" output index and "^" control inputs dropped) and
    attributes (TF's AttrValue JSON, as stored)."""

    name: str
    op: str
    inputs: tuple[str, ...]
    attr: dict[str, Any] = field(default_factory=dict)

    def get(self, key: str, default: Any = None) -> Any:
        """An attribute's plain value: bytes attributes decoded to str, lists to Python lists, ints to int.

        :param key: the attribute's name (e.g. "padding", "strides", "fused_ops")
        :param default: returned when the node has no such attribute"""
        if key not in self.attr:
            return default
        return _attr_value(self.attr[key])


@dataclass
class TfjsGraph:
    """A TF.js graph model: its nodes in file order, Const values by name, and the placeholders' names."""

    nodes: list[GraphNode]
    weights: dict[str, np.ndarray]
    inputs: list[str]
    topology: dict[str, Any]  # modelTopology as read (kept so the graph can be written out again)

    def node(self, name: str) -> GraphNode:
        """The node called `name` (KeyError if the graph has none)."""
        for n in self.nodes:
            if n.name == name:
                return n
        raise KeyError(name)


def _attr_value(v: dict[str, Any]) -> Any:
    """The plain value of one TF AttrValue in JSON form."""
    if "list" in v:
        lst = v["list"]
        if "s" in lst:
            return [base64.b64decode(s).decode() for s in lst["s"]]
        if "i" in lst:
            return [int(i) for i in lst["i"]]
        if "f" in lst:
            return [float(f) for f in lst["f"]]
        return []
    if "s" in v:
        return base64.b64decode(v["s"]).decode()
    if "i" in v:
        return int(v["i"])
    if "f" in v:
        return float(v["f"])
    if "b" in v:
        return bool(v["b"])
    return v.get("type", v)


def _input_name(ref: str) -> str:
    """A node input reference "name", "name:0" or "^name" as the producing node's name."""
    return ref.lstrip("^").split(":")[0]


def parse_nodes(topology: dict[str, Any]) -> list[GraphNode]:
    """The graph's nodes as GraphNode records (control inputs "^x" dropped: they carry no data).

    :param topology: the model JSON's `modelTopology`"""
    return [GraphNode(n["name"], n["op"], tuple(_input_name(i) for i in n.get("input", []) if not i.startswith("^")),
                      n.get("attr", {})) for n in topology["node"]]


def decode_weights(specs: list[dict[str, Any]], data: bytes) -> dict[str, np.ndarray]:
    """The weights stored one after another in `data` (all shards of one group, concatenated), dequantised.

    :param specs: the group's `weights` entries (name, shape, dtype, optional quantization)
    :param data: the group's bytes"""
    layout = []
    for spec in specs:
        shape = [int(s) for s in spec["shape"]]
        q = spec.get("quantization")
        layout.append((spec, shape, int(np.prod(shape)) if shape else 1,
                       np.dtype(_DTYPES[q["dtype"] if q else spec["dtype"]])))
    size = sum(count * stored.itemsize for _, _, count, stored in layout)
    if size != len(data):
        raise ValueError(f"weight shards hold {len(data)} bytes, the manifest describes {size}")
    out: dict[str, np.ndarray] = {}
    offset = 0
    for spec, shape, count, stored in layout:
        raw = np.frombuffer(data, stored, count, offset)
        offset += count * stored.itemsize
        out[spec["name"]] = _dequantise(raw, spec["dtype"], spec.get("quantization")).reshape(shape)
    return out


def _dequantise(raw: np.ndarray, dtype: str, q: dict[str, Any] | None) -> np.ndarray:
    """Stored values as the weight's own dtype: float16 widened, uint8/uint16 mapped by `q * scale + min`."""
    if q is None:
        return raw.copy()
    if q["dtype"] == "float16":
        return raw.astype(np.float32)
    if "scale" not in q:
        raise ValueError(f"unsupported quantisation {q}")
    vals = raw.astype(np.float32) * np.float32(q["scale"]) + np.float32(q["min"])
    return vals.astype(np.int32) if dtype == "int32" else vals


def read_graph_model(json_path: Path) -> TfjsGraph:
    """Read a TF.js graph model: `json_path` and the weight shards its manifest names (in the same folder).

    :param json_path: the model JSON (format "graph-model")"""
    json_path = Path(json_path)
    model = json.loads(json_path.read_text())
    if model.get("format", "graph-model") != "graph-model":
        raise ValueError(f"{json_path} is a {model.get('format')!r}, not a TF.js graph model")
    weights: dict[str, np.ndarray] = {}
    for group in model["weightsManifest"]:
        data = b"".join((json_path.parent / p).read_bytes() for p in group["paths"])
        weights.update(decode_weights(group["weights"], data))
    return graph_from_parts(model["modelTopology"], weights)


def graph_from_parts(topology: dict[str, Any], weights: dict[str, np.ndarray]) -> TfjsGraph:
    """A TfjsGraph from a modelTopology and its Const values (e.g. as read back from safetensors).

    :param topology: the model JSON's `modelTopology`
    :param weights: every Const node's value by node name"""
    nodes = parse_nodes(topology)
    missing = [n.name for n in nodes if n.op == "Const" and n.name not in weights]
    if missing:
        raise ValueError(f"{len(missing)} Const nodes have no stored value, e.g. {missing[:3]}")
    return TfjsGraph(nodes, weights, [n.name for n in nodes if n.op == "Placeholder"], topology)
