"""What the tables of PyTorch's names (torch_functions.py, torch_selection.py) are made of: a Row per name, and
`_one`, which runs a dnp function on tensors as one graph node named as PyTorch's; with the small argument helpers
the rows share and `_with_node`, which turns a row into a method or a function."""

from __future__ import annotations

import operator
from collections import namedtuple
from typing import Callable, NamedTuple

import numpy as np

from ..core.primitive import trace_of
from ..numpy._base import ndim, shape, shape_error
from . import devices as _device
from .storage import clone as _clone

sort_result = namedtuple("sort", ["values", "indices"])  # (torch.return_types.sort)


class Row(NamedTuple):
    """One PyTorch name: impl(node, input, ...) has PyTorch's signature after `node`, the name (or the names, by
    case) of the graph node it records, None where dnp's primitives record PyTorch's names themselves. It becomes
    a Tensor method (method=True) and a dt function (function=True, or the function form's own signature); doc
    is the docstring where impl is a lambda (`_plain(fn)`: fn on its operands, as one node unless node is None)."""

    name: str
    impl: Callable
    node: object = None
    method: bool = True
    function: object = True
    doc: str | None = None


def _one(node, fn, operands, *static):
    """fn(*operands, *static). With a tensor among the operands: recorded as one node named `node` (when not
    None), and a new tensor, never an operand or its array (as PyTorch's results). Otherwise fn's result."""
    tensors = [o for o in operands if _is_tensor(o)]
    if not tensors:
        return fn(*operands, *static)
    if node is None:
        out = fn(*operands, *static)
    else:
        from .composite import composite  # (composite nodes build on Tensor, which builds on this module)

        out = composite(node, fn, operands, *static)
    if not _is_tensor(out):
        return out
    if any(out is t for t in tensors):
        return _clone(out)
    data, xp = out._array, _device.module_of(out._array)
    if trace_of(data) is None and any(type(t._array) is type(data) and xp.may_share_memory(data, t._array)
                                      for t in tensors):  # (fn returned its operand, or a view of it)
        out._array = data.copy()
        if out.grad_fn is not None:
            out.grad_fn.out_data = out._array
    return out


def _renamed(pieces: tuple, node: str) -> tuple:
    """pieces (views of one tensor, each its own slicing node) with their nodes named as PyTorch's."""
    for piece in pieces:
        if _is_tensor(piece) and piece.grad_fn is not None:
            piece.grad_fn._name = node
    return pieces


def _ints(value) -> tuple:
    """An int, or a sequence of ints (a tensor's too), as a tuple of ints."""
    if getattr(value, "shape", None) == () or (hasattr(value, "__index__") and not hasattr(value, "shape")):
        return (operator.index(value),)
    return tuple(operator.index(v) for v in value)


def _need(ok: bool, op: str, problem: str, fix: str) -> None:
    if not ok:
        raise shape_error(op, problem, fix=fix)


def _concrete(value):
    """A tensor or array argument that fixes shapes (repeats, split indices, tensordot's dims) as Python ints."""
    if not hasattr(value, "shape"):
        return value
    values = np.asarray(getattr(value, "_array", value))
    return values.tolist() if values.ndim else int(values)


_is_tensor = lambda x: getattr(x, "_dt_eager", False)
_sizes = lambda args: _ints(args[0]) if len(args) == 1 else _ints(args)  # (`x.flip(0, 1)`, `x.flip([0, 1])`)
_at_least = lambda op, x, n: _need(ndim(x) >= n, op, f"input tensor must have at least {n} dimensions, got shape "
                                   f"{shape(x)}", f"give a tensor of {n} or more dimensions")


def _with_node(row: Row, impl):
    """impl with the row's node bound: a method (self first) or a function (input first)."""
    def bound(*args, **kwargs):
        return impl(row.node, *args, **kwargs)

    bound.__name__ = bound.__qualname__ = row.name
    bound.__doc__ = impl.__doc__ or row.doc
    return bound
