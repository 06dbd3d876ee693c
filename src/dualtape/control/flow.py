"""Structured control flow: `cond`, `while_loop`, `fori_loop`, `scan` (JAX's signatures).

On concrete Python values they run as ordinary Python; on traced values they record one control-flow
equation whose branches or body are sub-programs (cond.py, loops.py, scan.py), which every transform handles.
"""

from __future__ import annotations

import numpy as np

from .. import tree
from ..avals import ShapedArray, aval_of
from ..core.primitive import trace_of
from ..errors import ShapeError
from ..numpy import astype, not_equal
from .cond import cond_p
from .loops import while_p
from .scan import scan_p
from .trace import trace_together


def _traced(*values) -> bool:
    return any(trace_of(x) is not None for x in tree.leaves(values))


def _leaf_fn(fn, in_tree, n_lead=0):
    """fn over flattened leaves (after n_lead plain leading arguments), returning flattened leaves."""
    out_trees = []

    def flat(*args):
        out = fn(*args[:n_lead], *tree.unflatten(in_tree, list(args[n_lead:])))
        leaves, out_tree = tree.flatten(out)
        out_trees.append(out_tree)
        return leaves

    return flat, out_trees


def _predicate(pred, where):
    aval = aval_of(pred)
    if aval.shape != ():
        raise ShapeError(where, f"the predicate must be a scalar, got shape {aval.shape}",
                         fix="reduce it first, e.g. with .any() / .all() / .sum() > 0")
    return pred if aval.dtype == np.bool_ else not_equal(pred, 0)


def cond(pred, true_fn, false_fn, *operands):
    """true_fn(*operands) if pred else false_fn(*operands); on a traced predicate both branches are traced and
    the one taken at run time runs (and is the one differentiated)."""
    if not _traced(pred):
        return (true_fn if bool(pred) else false_fn)(*operands)
    pred = _predicate(pred, "cond")
    leaves, in_tree = tree.flatten(operands)
    flat_false, false_trees = _leaf_fn(false_fn, in_tree)
    flat_true, true_trees = _leaf_fn(true_fn, in_tree)
    (prog_false, prog_true), consts = trace_together(
        [flat_false, flat_true], [aval_of(x) for x in leaves], names=["false_branch", "true_branch"])
    if false_trees[0] != true_trees[0]:
        raise TypeError(f"cond: the branches return different structures: {true_trees[0]!r} (true) vs "
                        f"{false_trees[0]!r} (false); return the same variables from both")
    for t, f in zip(prog_true.out_avals, prog_false.out_avals):
        if (t.shape, t.dtype) != (f.shape, f.dtype):
            raise ShapeError("cond", f"the branches return different types: {t} (true) vs {f} (false)",
                             fix="make both branches return values of the same shape and dtype")
    outs = cond_p(pred, *consts, *leaves, branches=(prog_false, prog_true))
    return tree.unflatten(true_trees[0], outs)


def while_loop(cond_fun, body_fun, init_val):
    """while cond_fun(val): val = body_fun(val); return val. Differentiable in both modes, to any order: reverse
    mode's forward sweep keeps what the adjoint loop reads on a tape that the adjoint loop pops."""
    leaves, in_tree = tree.flatten(init_val)
    args_tree = tree.flatten((init_val,))[1]
    flat_cond, _ = _leaf_fn(lambda v: _predicate(cond_fun(v), "while_loop"), args_tree)
    flat_body, body_trees = _leaf_fn(body_fun, args_tree)

    def traced(avals):
        return trace_together([flat_cond, flat_body], avals, names=["cond", "body"])

    avals, ((prog_cond, prog_body), consts) = _carried(leaves, traced, lambda found: found[0][1].out_avals)
    if body_trees[0] != in_tree:
        raise TypeError(f"while_loop: the body returns {body_trees[0]!r}, but the loop carries {in_tree!r}")
    _check_loop_state("while_loop", avals, prog_body.out_avals)
    leaves = [astype(x, a.dtype) if aval_of(x).weak else x for x, a in zip(leaves, avals)]
    outs = while_p(*consts, *leaves, cond=prog_cond, body=prog_body, n_consts=len(consts))
    return tree.unflatten(in_tree, outs)


def _strong(aval: ShapedArray) -> ShapedArray:
    """A loop variable holds arrays: a Python scalar's weak type would not survive the first iteration."""
    return ShapedArray(aval.shape, aval.dtype)


def _carried(leaves, traced, body_out_avals):
    """(avals, traced(avals)) for a loop's carried values. A Python number's type is weak (as in JAX): the
    body is traced once with it weak, and the carry takes the type the body gives it (`s = 0.0` summing
    float32 values carries float32), then traced again with that type, strong."""
    avals = [aval_of(x) for x in leaves]
    found = traced(avals)
    if not any(a.weak for a in avals):
        return avals, found
    outs = body_out_avals(found)
    if len(outs) < len(avals):  # (the body changes the structure: the caller's check says so)
        return avals, found
    avals = [ShapedArray(a.shape, out.dtype) if a.weak and out.shape == a.shape else _strong(a)
             for a, out in zip(avals, outs)]
    return avals, traced(avals)


def _check_loop_state(where: str, before, after) -> None:
    """A carried value must keep its shape and dtype from one iteration to the next."""
    for k, (a, b) in enumerate(zip(before, after)):
        if (a.shape, a.dtype) != (b.shape, b.dtype):
            raise ShapeError(where, f"carried value {k} changes from {a} to {b} in one iteration",
                             fix="keep each loop variable's shape and dtype fixed (pad, or cast with astype)")


def scan(f, init, xs, length=None, reverse=False):
    """carry, ys = scan(f, init, xs): for each x along axis 0 of xs, (carry, y) = f(carry, x); ys stacks the
    ys. Reverse mode runs a scan the other way over the carries the forward scan saved."""
    x_leaves, x_tree = tree.flatten(xs)
    lengths = {aval_of(x).shape[0] for x in x_leaves}
    if length is not None:
        lengths.add(length)
    if len(lengths) != 1:
        raise ValueError(f"scan: xs must share one leading length (and match length=), got {sorted(lengths)}")
    n = lengths.pop()
    return _scan(lambda i, c, x: _pair(f(c, x), f), init, xs, n, reverse)


def _pair(out, f):
    """A scan body's result, which must be a pair (new_carry, y)."""
    if isinstance(out, (tuple, list)) and len(out) == 2:
        return out
    name = getattr(f, "__name__", "")
    body = f"the body {name}" if name.isidentifier() else "the body"
    raise TypeError(f"scan: {body} must return a pair (new_carry, y), but it returned {_described(out)}; return "
                    "`carry, y` from it (`carry, None` when there is nothing to stack)")


def _described(value) -> str:
    if isinstance(value, (tuple, list)):
        return f"a {type(value).__name__} of {len(value)} value{'' if len(value) == 1 else 's'}"
    try:
        return f"a single value of type {aval_of(value)}"
    except TypeError:
        return repr(value) if value is None else f"a {type(value).__name__}"


def _integer_bounds(lower, upper) -> None:
    """fori_loop's bounds must be integers (as in JAX): a float bound is refused, never rounded."""
    kinds = [aval_of(b).dtype for b in (lower, upper)]
    if all(np.issubdtype(k, np.integer) for k in kinds):
        return
    shown = [f"a traced value of type {aval_of(b)}" if _traced(b) else
             f"{b!r} ({type(b).__name__ if isinstance(b, (bool, int, float, complex)) else k})"
             for b, k in zip((lower, upper), kinds)]
    raise TypeError(f"fori_loop: the bounds must be integers (as in JAX), got lower={shown[0]}, upper={shown[1]}; "
                    "pass integers, e.g. int(upper), or x.astype(int) for a traced bound")


def fori_loop(lower, upper, body_fun, init_val):
    """for i in range(lower, upper): val = body_fun(i, val). With Python int bounds it is a scan (a Python
    `for` loop in the generated code, reverse-differentiated over its saved states); with traced bounds, a
    while_loop. The bounds must be integers."""
    _integer_bounds(lower, upper)
    if _traced(lower, upper):
        def step(state):
            i, val = state
            return i + 1, body_fun(i, val)
        return while_loop(lambda s: s[0] < upper, step, (lower, init_val))[1]
    lower, upper = int(lower), int(upper)
    return _scan(lambda i, c, x: (body_fun(i + lower if lower else i, c), None), init_val, None,
                 max(upper - lower, 0), False)[0]


def _scan(step, init, xs, length, reverse):
    c_leaves, c_tree = tree.flatten(init)
    x_leaves, x_tree = tree.flatten(xs)
    x_avals = [ShapedArray(aval_of(x).shape[1:], aval_of(x).dtype) for x in x_leaves]
    y_trees = []

    def body(i, *args):
        carry = tree.unflatten(c_tree, list(args[:len(c_leaves)]))
        x = tree.unflatten(x_tree, list(args[len(c_leaves):]))
        new_carry, y = step(i, carry, x)
        c_out, c_out_tree = tree.flatten(new_carry)
        if c_out_tree != c_tree:
            raise TypeError(f"scan/fori_loop: the body returns a carry {c_out_tree!r}, but the loop carries {c_tree!r}")
        y_leaves, y_tree = tree.flatten(y)
        y_trees.append(y_tree)
        return c_out + y_leaves

    index = ShapedArray((), np.int64, weak=True)

    def traced(c_avals):
        y_trees.clear()
        return trace_together([body], [index] + c_avals + x_avals, names=["body"])

    c_avals, ((program,), consts) = _carried(c_leaves, traced, lambda found: found[0][0].out_avals)
    _check_loop_state("scan", c_avals, program.out_avals[:len(c_leaves)])
    c_leaves = [astype(c, a.dtype) if aval_of(c).weak else c for c, a in zip(c_leaves, c_avals)]
    outs = scan_p(*consts, *c_leaves, *x_leaves, body=program, n_consts=len(consts), n_carry=len(c_leaves),
                  length=length, reverse=reverse)
    carry = tree.unflatten(c_tree, outs[:len(c_leaves)])
    return carry, tree.unflatten(y_trees[0], outs[len(c_leaves):])
