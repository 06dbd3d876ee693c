"""`dt.viz`: pictures of computations. `to_dot(x)` draws a traced Program (or a function at example
arguments) or the backward graph of eager tensors, as a `Graph`: DOT text that `render("out.svg")` draws
with Graphviz."""

from __future__ import annotations

from ..api.staging import trace
from ..core.ir import Program
from ..eager.tensor import Tensor
from .backward import backward_graph
from .dot import Graph, GraphvizNotFoundError
from .program import program_graph

__all__ = ["Graph", "GraphvizNotFoundError", "to_dot"]


def to_dot(x, *args, names: dict | None = None) -> Graph:
    """The graph of x: a Program; an eager Tensor (or a list of them) with its grad_fn graph, leaves labelled
    from names ({label: tensor}); or a function, traced at the example args."""
    if isinstance(x, Program):
        return program_graph(x)
    if isinstance(x, Tensor):
        return backward_graph([x], names)
    if isinstance(x, (list, tuple)) and x and all(isinstance(t, Tensor) for t in x):
        return backward_graph(list(x), names)
    if callable(x):
        return program_graph(trace(x)(*args))
    raise TypeError(f"to_dot draws a Program, an eager Tensor (or a list of them) or a function with example "
                    f"arguments, not a {type(x).__name__}")
