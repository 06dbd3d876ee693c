"""Tracing functions into sub-programs, the operands of the primitives over them.

A sub-program holds no values of the trace that made it: the values its function closed over become
explicit operands. `trace_together` traces several functions (a cond's branches, a loop's cond and body)
over the same abstract arguments so that they share one list of such values, taken first: every program
takes (*consts, *args). `trace_sub_program` traces one function at given pytree arguments, its captured
values after its arguments (checkpoint, the custom rules).
"""

from __future__ import annotations

from .. import tree
from ..avals import aval_of
from ..core.ir import Program, Var
from ..core.trace import input_hints, make_program
from ..transforms.jvp import ShapedArrayExample


def trace_together(fns, avals, names=None, hints=None):
    """Trace each fn over abstract arguments of these avals; returns (programs, consts) where every program
    takes (*consts, *args) and consts is the union of the values the functions captured."""
    traced = []
    for k, fn in enumerate(fns):
        examples = tuple(ShapedArrayExample(a) for a in avals)
        name = names[k] if names else "block"
        traced.append(make_program(fn, examples, name=name, arg_names=hints)[0])
    consts, index = [], {}
    for program in traced:
        for _, value in program.captures:
            if id(value) not in index:
                index[id(value)] = len(consts)
                consts.append(value)
    closed = []
    for program in traced:
        const_vars = [Var(aval_of(c)) for c in consts]
        for var, value in program.captures:
            const_vars[index[id(value)]] = var
        closed.append(Program(const_vars + program.inputs, program.eqns, program.outputs, (), program.name))
    return closed, consts


def trace_sub_program(fn, args, name: str, kwargs=None):
    """(closed program of fn at args, captured values, in_tree, out_tree); args is a tuple of pytrees, and
    kwargs (a dict of them, if given) are operands too, after args."""
    if kwargs:
        leaves, in_tree = tree.flatten((args, kwargs))

        def call(*xs):
            a, k = tree.unflatten(in_tree, list(xs))
            return fn(*a, **k)
    else:
        leaves, in_tree = tree.flatten(args)

        def call(*xs):
            return fn(*tree.unflatten(in_tree, list(xs)))
    program, out_tree = make_program(call, tuple(leaves), name=name, arg_names=input_hints(fn, args, kwargs))
    program, captured = program.closed()
    return program, leaves + captured, in_tree, out_tree


def fn_name(fn) -> str:
    """The name of a user's function for its sub-program (and for messages): 'f' if it has no usable one."""
    name = getattr(fn, "__name__", "f")
    return name if name.isidentifier() else "f"
