"""PyTorch's one-line meanings for the methods Tensor takes from the method set it shares with traced values
(numpy.methods.ArrayMethods, whose functions are mostly lambdas with no docstring): the mixin
DocumentedArrayMethods holds copies of those functions (the same code, defaults and closures: calling one costs
what calling the original does) with a docstring each, so `help(t.sum)` says what it does."""

from __future__ import annotations

import inspect
import types

from ..numpy.methods import ArrayMethods

DOCS = {
    "T": "The tensor with its dimensions reversed (of a matrix, its transpose).",
    "all": "Whether every element is nonzero (True), over dim when given (keepdim keeps it).",
    "any": "Whether any element is nonzero (True), over dim when given (keepdim keeps it).",
    "argmax": "The index of the largest element: of the flattened tensor, or along dim.",
    "argmin": "The index of the smallest element: of the flattened tensor, or along dim.",
    "clamp": "The values limited to [min, max] (either bound may be None).",
    "logsumexp": "log(sum(exp(self))) over dim, computed without overflow.",
    "permute": "A view with the dimensions reordered as dims.",
    "prod": "The product of the elements, over dim when given (keepdim keeps it).",
    "ravel": "The values as a 1-D tensor (a view where the memory allows).",
    "reshape": "The values in a new shape (a view where the memory allows); one size may be -1.",
    "square": "Each element squared.",
    "sum": "The sum of the elements, over dim when given (keepdim keeps the summed dimensions).",
    "unsqueeze": "A view with a dimension of size 1 inserted at dim.",
    "view": "A view of the same memory in a new shape; one size may be -1.",
}


def _documented(name: str, member, doc: str):
    """member (a function or a property of ArrayMethods) as a copy with docstring doc."""
    if isinstance(member, property):
        return property(member.fget, member.fset, member.fdel, doc)
    copy = types.FunctionType(member.__code__, member.__globals__, name, member.__defaults__, member.__closure__)
    copy.__kwdefaults__, copy.__qualname__, copy.__doc__ = member.__kwdefaults__, f"Tensor.{name}", doc
    return copy


DocumentedArrayMethods = type("DocumentedArrayMethods", (), {
    "__slots__": (), "__doc__": "The shared array methods, with PyTorch's meanings as docstrings.",
    **{name: _documented(name, inspect.getattr_static(ArrayMethods, name), doc) for name, doc in DOCS.items()}})
