"""An eager backward graph as a picture, in torchviz's style: one box per grad_fn (MulBackward0, ...), an
AccumulateGrad box per leaf with the leaf tensor above it (blue), the root tensors below (green), edges
from inputs towards the root labelled with the shape that flows along them. The walk is iterative, so a
graph 100,000 operations deep draws without recursion."""

from __future__ import annotations

import numpy as np

from ..avals import short_dtype
from ..eager.graph import AccumulateGrad
from .dot import DotWriter, Graph

LEAF_COLOUR = "lightblue"
ROOT_COLOUR = "darkolivegreen1"
OP_COLOUR = "lightgrey"


def backward_graph(roots, names: dict | None = None) -> Graph:
    """The grad_fn graph behind the root tensors; names maps a label to a tensor (a leaf or a root)."""
    labels = {id(t): name for name, t in (names or {}).items()}
    dot = DotWriter("backward", rankdir="TB")
    drawn: dict[int, str] = {}  # id(grad_fn node) -> its DOT id (the roots keep every node alive)
    stack = []  # (node, the DOT id of the node it feeds)
    for i, t in enumerate(roots):
        default = "output" if len(roots) == 1 else f"output {i}"
        root = dot.node(_tensor_label(t, labels.get(id(t), default)), shape="box", style="filled",
                        fillcolor=ROOT_COLOUR)
        if t.grad_fn is not None:
            stack.append((t.grad_fn, root))
    while stack:
        node, consumer = stack.pop()
        own = drawn.get(id(node))
        if own is None:
            own = drawn[id(node)] = dot.node(node.name().rsplit("::", 1)[-1], shape="box", style="filled",
                                             fillcolor=OP_COLOUR)
            if isinstance(node, AccumulateGrad):
                leaf = node.variable
                if leaf is not None:
                    tensor = dot.node(_tensor_label(leaf, labels.get(id(leaf), "")), shape="box", style="filled",
                                      fillcolor=LEAF_COLOUR)
                    dot.edge(tensor, own)
            for feeder, _ in reversed(node.next_functions):
                if feeder is not None:
                    stack.append((feeder, own))
        dot.edge(own, consumer, label=_shape_label(node))
    return dot.finish()


def _tensor_label(t, name: str) -> str:
    described = f"{tuple(t.shape)} {short_dtype(t.dtype)}"
    return f"{name}\n{described}" if name else described


def _shape_label(node) -> str | None:
    """The shape of the value node produces, while it is known (a backward without retain_graph frees it)."""
    if isinstance(node, AccumulateGrad):
        leaf = node.variable
        return None if leaf is None else str(tuple(leaf.shape))
    out = getattr(node, "out_data", None)
    if out is None and getattr(node, "out_ref", None) is not None:
        tensor = node.out_ref()
        out = None if tensor is None else tensor.data
    if type(out) is tuple:  # (a node whose rules never read its result keeps only the shape)
        return str(out)
    return None if out is None else str(np.shape(out))
