"""The nodes of the eager backward graph (`grad_fn`): one per recorded operation, named as PyTorch names
them (MulBackward0, ...), with `next_functions` pointing at the nodes of the operands (AccumulateGrad for
leaves). A node keeps the operands and the output's value its primitive's VJP rule reads (the registry's
rule: no derivative is written here), and frees them after backward unless the graph is retained."""

from __future__ import annotations

import weakref

_TORCH_NAMES = {
    "add": "AddBackward0", "sub": "SubBackward0", "mul": "MulBackward0", "div": "DivBackward0",
    "neg": "NegBackward0", "pow": "PowBackward0", "integer_pow": "PowBackward0", "exp": "ExpBackward0",
    "log": "LogBackward0", "sin": "SinBackward0", "cos": "CosBackward0", "tan": "TanBackward0",
    "tanh": "TanhBackward0", "sigmoid": "SigmoidBackward0", "sqrt": "SqrtBackward0", "abs": "AbsBackward0",
    "reduce_sum": "SumBackward0", "reduce_max": "MaxBackward0", "reduce_min": "MinBackward0",
    "reduce_prod": "ProdBackward0", "matmul": "MmBackward0", "einsum": "EinsumBackward0",
    "reshape": "ViewBackward0", "transpose": "PermuteBackward0", "broadcast_to": "ExpandBackward0",
    "squeeze": "SqueezeBackward0", "expand_dims": "UnsqueezeBackward0", "concatenate": "CatBackward0",
    "getitem": "IndexBackward0", "maximum": "MaximumBackward0", "minimum": "MinimumBackward0",
    "where": "WhereBackward0", "convert_element_type": "ToCopyBackward0", "log1p": "Log1PBackward0",
    "expm1": "Expm1Backward0", "exp2": "Exp2Backward0", "log2": "Log2Backward0", "log10": "Log10Backward0",
    "arcsin": "AsinBackward0", "arccos": "AcosBackward0", "arctan": "AtanBackward0", "sinh": "SinhBackward0",
    "cosh": "CoshBackward0", "arctan2": "Atan2Backward0", "mod": "RemainderBackward0",
    "index_add": "IndexAddBackward0", "checkpoint": "CheckpointBackward0",
}


def torch_name(prim, operands) -> str:
    """PyTorch's name for the backward node of prim (Mm for matrices, Mv / Dot / Matmul otherwise)."""
    if prim.name == "matmul":
        ranks = [getattr(x, "ndim", 0) for x in operands]
        return {(2, 2): "MmBackward0", (2, 1): "MvBackward0", (1, 1): "DotBackward0"}.get(tuple(ranks),
                                                                                         "MatmulBackward0")
    return _TORCH_NAMES.get(prim.name, "".join(p.capitalize() for p in prim.name.split("_")) + "Backward0")


class Node:
    """A grad_fn: how to pull an output cotangent back to the operands of one recorded operation."""

    __slots__ = ("_name", "inputs", "edges", "versions", "out_data", "out_ref", "freed", "hooks", "__weakref__")

    def __init__(self, name: str, inputs, out_data, out_tensor):
        self._name = name
        self.inputs = list(inputs)  # the operands as given: Tensors (graph edges) or plain values
        self.edges = [edge_of(x) for x in self.inputs]
        self.versions = [x._version[0] if _is_tensor(x) else None for x in self.inputs]
        self.out_data = out_data
        self.out_ref = weakref.ref(out_tensor) if out_tensor is not None else None
        self.freed = False
        self.hooks = []

    def name(self) -> str:
        return self._name

    def __repr__(self):
        return f"<{self._name}>"

    @property
    def next_functions(self):
        return tuple((edge, 0) for edge in self.edges)

    def free(self) -> None:
        """Drop the saved values (after a backward that does not retain the graph); the edges stay."""
        self.freed = True
        self.out_data = None
        self.inputs = [None] * len(self.inputs)

    def register_hook(self, fn):
        self.hooks.append(fn)
        return _Handle(self.hooks, fn)


class PrimitiveNode(Node):
    """The node of a registry primitive; its backward is the primitive's VJP rule."""

    __slots__ = ("prim", "params")

    def __init__(self, prim, params, inputs, out_data, out_tensor):
        super().__init__(torch_name(prim, [getattr(x, "data", x) for x in inputs]), inputs, out_data, out_tensor)
        self.prim, self.params = prim, params

    def operand_needs_grad(self):
        return [edge is not None for edge in self.edges]


class AccumulateGrad:
    """The node that adds a cotangent into a leaf tensor's .grad."""

    __slots__ = ("_leaf", "__weakref__")

    def __init__(self, leaf):
        self._leaf = weakref.ref(leaf)  # the leaf owns this node, not the other way round

    @property
    def variable(self):
        return self._leaf()

    def name(self) -> str:
        return "torch::autograd::AccumulateGrad"

    def __repr__(self):
        return "<AccumulateGrad>"

    next_functions = ()


class _Handle:
    """What register_hook returns: `.remove()` takes the hook off again."""

    def __init__(self, hooks: list, fn):
        self._hooks, self._fn = hooks, fn

    def remove(self) -> None:
        if self._fn in self._hooks:
            self._hooks.remove(self._fn)


def _is_tensor(x) -> bool:
    return getattr(x, "_dt_eager", False)


def edge_of(x):
    """The node a value's gradient flows into: its grad_fn, its AccumulateGrad if a leaf requiring grad, or None."""
    if not _is_tensor(x) or not x.requires_grad:
        return None
    if x.grad_fn is not None:
        return x.grad_fn
    if x._accumulator is None:
        x._accumulator = AccumulateGrad(x)
    return x._accumulator
