"""Constant folding of a TF.js graph before it runs: a convolution followed by its batch norm's per-channel Mul and
Add and a Relu / Relu6 (written as Relu -> Minimum(6) -> Maximum(0)) becomes one fused convolution, as TF's own
grappler would fuse it.

faceres (a Keras MobileNet) is exported unfused: five elementwise passes over every activation after each of its
27 convolutions, a third of its time on the CPU. Folding scales the kernel and adds the bias inside the
convolution; the result differs from the unfused graph by float32 rounding only (tests/integration/test_tfjs_port.py
checks the port against TF.js itself).
"""
from __future__ import annotations

import base64
from dataclasses import replace
from typing import Optional, Sequence

import numpy as np

from .tfjs_graph import GraphNode, TfjsGraph

_CONVS = {"Conv2D": "_FusedConv2D", "DepthwiseConv2dNative": "FusedDepthwiseConv2dNative"}
_ADDS = ("Add", "AddV2", "BiasAdd")


class _Chain:
    """A convolution and the nodes folded into it: kernel scale, bias, activation, and the last node's name."""

    def __init__(self, conv: GraphNode, channels: int) -> None:
        self.conv, self.channels, self.last = conv, channels, conv.name
        self.scale: Optional[np.ndarray] = None
        self.bias: Optional[np.ndarray] = None
        self.act: Optional[str] = None
        self.absorbed: list[str] = []

    def take(self, node: GraphNode) -> None:
        self.absorbed.append(node.name)
        self.last = node.name


def _encode(names: Sequence[str]) -> dict:
    """A TF AttrValue list of strings, as graph JSON stores it."""
    return {"list": {"s": [base64.b64encode(n.encode()).decode() for n in names]}}


def _consumers(graph: TfjsGraph) -> dict[str, list[GraphNode]]:
    out: dict[str, list[GraphNode]] = {}
    for node in graph.nodes:
        for name in node.inputs:
            out.setdefault(name, []).append(node)
    return out


def _const_vector(graph: TfjsGraph, node: GraphNode, other_of: str, channels: int) -> Optional[np.ndarray]:
    """The float Const operand of a binary `node` (the operand that is not `other_of`) as a (channels,) vector, or
    None when it is not a per-channel or scalar Const."""
    if len(node.inputs) != 2 or other_of not in node.inputs:
        return None
    other = node.inputs[1] if node.inputs[0] == other_of else node.inputs[0]
    value = graph.weights.get(other)
    if value is None or value.dtype.kind != "f" or value.size not in (1, channels):
        return None
    if value.ndim > 1 and value.shape[:-1] != (1,) * (value.ndim - 1):
        return None
    return np.broadcast_to(value.reshape(-1).astype(np.float32), (channels,)).copy()


def _scalar(graph: TfjsGraph, node: GraphNode, other_of: str) -> Optional[float]:
    vec = _const_vector(graph, node, other_of, 1)
    return None if vec is None else float(vec[0])


def _single_next(consumers: dict[str, list[GraphNode]], name: str, keep: set[str]) -> Optional[GraphNode]:
    """The only node reading `name`, when `name` may disappear (read once, not an output)."""
    users = consumers.get(name, [])
    return users[0] if len(users) == 1 and name not in keep else None


def _activation(graph: TfjsGraph, consumers, chain: _Chain, keep: set[str]) -> None:
    """Relu, or Relu -> Minimum(a) [-> Maximum(b <= 0)] with a = 6 (Relu6), absorbed into the chain."""
    nxt = _single_next(consumers, chain.last, keep)
    if nxt is None or nxt.op not in ("Relu", "Relu6"):
        return
    chain.take(nxt)
    chain.act = nxt.op
    nxt = _single_next(consumers, chain.last, keep)
    if chain.act == "Relu" and nxt is not None and nxt.op == "Minimum" and _scalar(graph, nxt, chain.last) == 6.0:
        chain.take(nxt)
        chain.act = "Relu6"
        nxt = _single_next(consumers, chain.last, keep)
    if nxt is not None and nxt.op == "Maximum":
        low = _scalar(graph, nxt, chain.last)
        if low is not None and low <= 0.0:  # max(relu(x), b <= 0) is relu(x): a no-op
            chain.take(nxt)


def _chain_of(graph: TfjsGraph, conv: GraphNode, consumers, keep: set[str]) -> _Chain:
    """What can be folded into `conv`: its per-channel Mul, then Add, then the activation."""
    kernel = graph.weights[conv.inputs[1]]
    channels = kernel.shape[3] if conv.op == "Conv2D" else kernel.shape[2] * kernel.shape[3]
    chain = _Chain(conv, channels)
    nxt = _single_next(consumers, chain.last, keep)
    if nxt is not None and nxt.op == "Mul":
        chain.scale = _const_vector(graph, nxt, chain.last, channels)
        if chain.scale is not None:
            chain.take(nxt)
            nxt = _single_next(consumers, chain.last, keep)
    if nxt is not None and nxt.op in _ADDS:
        chain.bias = _const_vector(graph, nxt, chain.last, channels)
        if chain.bias is not None:
            chain.take(nxt)
    _activation(graph, consumers, chain, keep)
    return chain


def _fused_nodes(graph: TfjsGraph, chain: _Chain, weights: dict[str, np.ndarray]) -> list[GraphNode]:
    """The fused convolution (named as the chain's last node, so its readers are unchanged) and its two Consts."""
    conv = chain.conv
    kernel = graph.weights[conv.inputs[1]].astype(np.float32)
    if chain.scale is not None:
        kernel = (kernel.reshape(*kernel.shape[:2], -1) * chain.scale).reshape(kernel.shape)
    bias = chain.bias if chain.bias is not None else np.zeros(chain.channels, np.float32)
    k_name, b_name = f"{chain.last}/folded_kernel", f"{chain.last}/folded_bias"
    weights[k_name], weights[b_name] = kernel, bias.astype(np.float32)
    attr = dict(conv.attr, fused_ops=_encode(["BiasAdd"] + ([chain.act] if chain.act else [])))
    fused = replace(conv, name=chain.last, op=_CONVS[conv.op], inputs=(conv.inputs[0], k_name, b_name), attr=attr)
    return [GraphNode(k_name, "Const", ()), GraphNode(b_name, "Const", ()), fused]


def fold_graph(graph: TfjsGraph, outputs: Sequence[str]) -> TfjsGraph:
    """A copy of `graph` where each plain convolution absorbs the per-channel Mul, Add and Relu/Relu6 that follow
    it (only nodes read by nothing else; the `outputs` are never absorbed). The original graph is not changed.

    :param graph: the graph, weights dequantised
    :param outputs: the node names the caller will read"""
    consumers, keep = _consumers(graph), set(outputs)
    weights = dict(graph.weights)
    chains = {}
    for node in graph.nodes:
        if node.op in _CONVS and len(node.inputs) == 2 and node.inputs[1] in graph.weights:
            chain = _chain_of(graph, node, consumers, keep)
            if chain.absorbed:
                chains[node.name] = chain
    gone = {name for c in chains.values() for name in c.absorbed}
    nodes: list[GraphNode] = []
    for node in graph.nodes:
        if node.name in chains:
            nodes.extend(_fused_nodes(graph, chains[node.name], weights))
        elif node.name not in gone:
            nodes.append(node)
    return replace(graph, nodes=nodes, weights=weights)
