"""GraphModule: a TF.js graph model (tfjs_graph.TfjsGraph) as a PyTorch nn.Module.

Only the nodes the requested outputs depend on are run, in the graph's order; each is the function tfjs_ops built
for it. Float Const values become buffers (moved with .to()); convolution kernels are stored once in PyTorch's
layout (OIHW; depthwise (C*M, 1, H, W)). Tensors keep TF's NHWC layout between ops, as the graph expects.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
import torch
from torch import nn

from .tfjs_fold import fold_graph
from .tfjs_graph import GraphNode, TfjsGraph
from .tfjs_ops import build_op


def _conv_layout(w: np.ndarray, kind: str) -> np.ndarray:
    """A TF kernel in PyTorch's layout: Conv2D HWIO -> OIHW; depthwise HWCM -> (C*M, 1, H, W)."""
    if kind == "conv":
        return np.ascontiguousarray(w.transpose(3, 2, 0, 1))
    h, wd, c, mult = w.shape
    return np.ascontiguousarray(w.reshape(h, wd, c * mult).transpose(2, 0, 1)[:, None])


def needed_nodes(graph: TfjsGraph, outputs: Sequence[str]) -> list[GraphNode]:
    """The nodes `outputs` depend on, in an order where every node comes after its inputs.

    :param graph: the graph
    :param outputs: names of the nodes wanted"""
    by_name = {n.name: n for n in graph.nodes}
    order: list[GraphNode] = []
    seen: set[str] = set()
    stack: list[tuple[str, bool]] = [(o, False) for o in reversed(list(outputs))]
    while stack:
        name, done = stack.pop()
        if done:
            order.append(by_name[name])
            continue
        if name in seen:
            continue
        if name not in by_name:
            raise KeyError(f"the graph has no node {name!r}")
        seen.add(name)
        stack.append((name, True))
        stack.extend((i, False) for i in reversed(by_name[name].inputs) if i not in seen)
    return order


class GraphModule(nn.Module):
    """Evaluates a TF.js graph in PyTorch: forward(x) -> the `outputs` nodes' values (one tensor, or a tuple)."""

    def __init__(self, graph: TfjsGraph, outputs: Sequence[str], input_name: str | None = None,
                 fold: bool = True) -> None:
        """:param graph: the graph model (weights already dequantised)
        :param outputs: names of the nodes to return
        :param input_name: the Placeholder fed by forward's argument (default: the graph's only one)
        :param fold: fold batch norms and activations into the convolutions first (tfjs_fold.fold_graph)"""
        super().__init__()
        if fold:
            graph = fold_graph(graph, outputs)
        if input_name is None:
            if len(graph.inputs) != 1:
                raise ValueError(f"the graph has inputs {graph.inputs}: name the one to feed")
            input_name = graph.inputs[0]
        self.graph, self.outputs, self.input_name = graph, list(outputs), input_name
        self._keys: dict[tuple[str, str], str] = {}
        self._steps = []
        self._consts: dict[str, str] = {}
        self._ints: dict[str, np.ndarray] = {}  # integer Consts (axes, shapes): read when the ops are built
        for node in needed_nodes(graph, self.outputs):
            if node.op == "Const":
                if graph.weights[node.name].dtype.kind == "f":
                    self._consts[node.name] = self.const(node.name)
                else:
                    self._ints[node.name] = graph.weights[node.name]
            elif node.op == "Placeholder":
                if node.name != input_name:
                    raise ValueError(f"the outputs need the input {node.name!r}, which is not fed")
            else:
                self._steps.append((node.name, build_op(self, node), node.inputs))
        self._free = self._last_uses()

    def const(self, name: str, layout: str = "") -> str:
        """Register the Const `name` as a float32 buffer (in a convolution `layout`: "conv", "dw") and return
        the key that `buffer` takes."""
        key = (name, layout)
        if key not in self._keys:
            value = self.graph.weights[name].astype(np.float32)
            if layout:
                value = _conv_layout(value, layout)
            attr = f"w{len(self._keys)}"
            self.register_buffer(attr, torch.from_numpy(np.ascontiguousarray(value)), persistent=False)
            self._keys[key] = attr
        return self._keys[key]

    def buffer(self, key: str) -> torch.Tensor:
        """The buffer registered by `const` under `key`."""
        return getattr(self, key)

    def int_const(self, name: str) -> np.ndarray:
        """An integer Const's value (axes, shapes, paddings), as numpy."""
        return np.asarray(self.graph.weights[name])

    def _last_uses(self) -> list[list[str]]:
        """For each step, the computed values nobody needs after it (freed as the forward pass goes)."""
        last: dict[str, int] = {}
        for i, (_, _, inputs) in enumerate(self._steps):
            for name in inputs:
                last[name] = i
        free: list[list[str]] = [[] for _ in self._steps]
        keep = set(self.outputs) | set(self._consts) | set(self._ints) | {self.input_name}
        for name, i in last.items():
            if name not in keep:
                free[i].append(name)
        return free

    def forward(self, x: torch.Tensor) -> torch.Tensor | tuple[torch.Tensor, ...]:
        """Run the graph on `x` (the input placeholder's value, NHWC float32)."""
        env: dict[str, object] = {k: getattr(self, v) for k, v in self._consts.items()}
        env.update(self._ints)
        env[self.input_name] = x
        for (name, fn, inputs), free in zip(self._steps, self._free):
            env[name] = fn(*[env[i] for i in inputs])
            for f in free:
                env.pop(f, None)
        outs = tuple(env[o] for o in self.outputs)
        return outs[0] if len(outs) == 1 else outs
