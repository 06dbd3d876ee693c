"""The operators that autograph's rewritten code calls (as `ag__.<name>`): each decides at run time whether
its condition is a concrete Python value (run as ordinary Python) or a traced one (record a structured
control-flow primitive, with the variables the statement assigns as its carried state)."""

from __future__ import annotations

from .. import tree
from .._util import user_source_line
from ..api.control import cond, fori_loop, while_loop
from ..avals import aval_of
from ..errors import ShapeError
from ..numpy import logical_and, logical_not, logical_or


class Undefined:
    """The value of a variable that has no value yet where a statement begins (defined inside it), or that a
    traced if assigned in one branch only. Harmless until used: any use raises an error naming it."""

    __slots__ = ("name", "where")

    def __init__(self, name: str, where=None):
        self.name, self.where = name, where  # where: the traced if that assigned it in one branch only

    def __repr__(self):
        return f"<undefined {self.name}>"

    def error(self) -> NotImplementedError:
        if self.where is None:
            return NotImplementedError(f"variable '{self.name}' is used before it is assigned (it is only assigned "
                                       "inside an if or a loop)\n  fix: assign it before the statement")
        return NotImplementedError(f"variable '{self.name}' is assigned in only one branch of an if on a traced "
                                   f"value, but used afterwards\n  at {self.where}\n"
                                   "  fix: assign it before the if, or in both branches")

    def __getattr__(self, attr):
        raise self.error()


def _use_undefined(self, *args, **kwargs):
    raise self.error()


for _name in ("add sub mul truediv floordiv mod pow matmul and or xor lshift rshift divmod".split()):
    setattr(Undefined, f"__{_name}__", _use_undefined)
    setattr(Undefined, f"__r{_name}__", _use_undefined)
for _name in ("neg pos abs invert lt le gt ge bool len iter getitem setitem call array float int index complex "
              "round").split():
    setattr(Undefined, f"__{_name}__", _use_undefined)


def concrete(x):
    """(True, python value) when x has a concrete value (a dual number's primal counts), else (False, None)."""
    while getattr(x, "_dt_trace", None) is not None:
        if hasattr(x, "primal"):
            x = x.primal
        else:
            return False, None
    return True, x


def _is_concrete(x) -> bool:
    return concrete(x)[0]


def values_before(frame_locals: dict, names: tuple):
    """The current values of names, Undefined for those not assigned yet."""
    return tuple(frame_locals[n] if n in frame_locals else Undefined(n) for n in names)


class _OneBranchOnly(Exception):
    """Raised while tracing a branch that leaves these variables undefined: the if is traced again without
    them."""

    def __init__(self, names):
        self.names = names


def if_stmt(test, true_fn, false_fn, state, names):
    """if test: state = true_fn(*state) else: state = false_fn(*state). On a traced test, a variable that only
    one branch assigns comes out undefined (an error when used, not before)."""
    known, value = concrete(test)
    if known:
        return (true_fn if value else false_fn)(*state)
    defined = [not isinstance(v, Undefined) for v in state]
    inputs = tuple(v for v, d in zip(state, defined) if d)
    outputs = set(names)

    def branch(fn):
        def run(*args):
            it = iter(args)
            out = fn(*[next(it) if d else state[k] for k, d in enumerate(defined)])
            missing = {n for n, v in zip(names, out) if n in outputs and isinstance(v, Undefined)}
            if missing:
                raise _OneBranchOnly(missing)
            return tuple(v for n, v in zip(names, out) if n in outputs)
        return run

    while True:
        try:
            results = iter(cond(test, branch(true_fn), branch(false_fn), *inputs))
            break
        except _OneBranchOnly as e:
            outputs -= e.names
    where = user_source_line()
    return tuple(next(results) if n in outputs else Undefined(n, where) for n in names)


def if_exp(test, true_fn, false_fn):
    """a if test else b."""
    known, value = concrete(test)
    if known:
        return true_fn() if value else false_fn()
    return cond(test, lambda: true_fn(), lambda: false_fn())


def while_stmt(test_fn, body_fn, state, names):
    """while test_fn(*state): state = body_fn(*state). Iterations with a concrete test run as Python; from the
    first traced test on, the rest is one while_loop."""
    while True:
        known, value = concrete(test_fn(*state))
        if not known:
            break
        if not value:
            return state
        state = body_fn(*state)
    carried = [not isinstance(v, Undefined) for v in state]
    init = tuple(v for v, c in zip(state, carried) if c)

    def full(args):
        it = iter(args)
        return [next(it) if c else Undefined(n) for c, n in zip(carried, names)]

    def body(args):
        out = tuple(v for v, c in zip(body_fn(*full(args)), carried) if c)
        _check_carried("while_loop", [n for n, c in zip(names, carried) if c], args, out)
        return out

    try:
        final = while_loop(lambda args: test_fn(*full(args)), body, init)
    except ShapeError as e:
        raise _loop_shape_error(e, "while") from None
    return tuple(full(final))


def for_range(range_args, body_fn, state, names):
    """for i in range(*range_args): state = body_fn(i, *state). Concrete bounds run as ordinary Python (the
    loop unrolls into the trace, as the SPEC says of conditions on Python values); a traced bound makes one
    fori_loop."""
    bounds = [concrete(a) for a in range_args]
    if all(k for k, _ in bounds):
        for i in range(*[v for _, v in bounds]):
            state = body_fn(i, *state)
        return state
    if len(range_args) == 3:
        raise NotImplementedError(f"for i in range(start, stop, step) with a traced bound: a step is not "
                                  f"supported\n  at {user_source_line()}\n  fix: write a while loop")
    lower, upper = (0, range_args[0]) if len(range_args) == 1 else range_args
    carried = [not isinstance(v, Undefined) for v in state]
    init = tuple(v for v, c in zip(state, carried) if c)

    def body(i, args):
        it = iter(args)
        out = body_fn(i, *[next(it) if c else Undefined(n) for c, n in zip(carried, names)])
        out = tuple(v for v, c in zip(out, carried) if c)
        _check_carried("fori_loop", [n for n, c in zip(names, carried) if c], args, out)
        return out

    try:
        final = fori_loop(lower, upper, body, init)
    except ShapeError as e:
        raise _loop_shape_error(e, "for") from None
    it = iter(final)
    return tuple(next(it) if c else Undefined(n) for c, n in zip(carried, names))


def _check_carried(construct: str, names, before, after) -> None:
    """Each variable a traced loop carries keeps its structure, shape and dtype: else a ShapeError naming it."""
    for name, old, new in zip(names, before, after):
        if isinstance(new, Undefined):
            raise new.error()
        (old_leaves, old_tree), (new_leaves, new_tree) = tree.flatten(old), tree.flatten(new)
        olds, news = [aval_of(v) for v in old_leaves], [aval_of(v) for v in new_leaves]
        if old_tree != new_tree or any((a.shape, a.dtype) != (b.shape, b.dtype) and not (a.weak and a.shape == b.shape)
                                       for a, b in zip(olds, news)):  # (a weak number takes the body's type)
            change = (f"{old_tree!r} to {new_tree!r}" if old_tree != new_tree else
                      ", ".join(f"{a} to {b}" for a, b in zip(olds, news) if (a.shape, a.dtype) != (b.shape, b.dtype)))
            raise ShapeError(construct, f"the loop variable '{name}' changes from {change} in one iteration",
                             user_source_line(),
                             "keep its shape and dtype fixed (pad it, or cast with astype), or make the loop's "
                             "condition a Python value so it unrolls")


def _loop_shape_error(error: ShapeError, construct: str) -> ShapeError:
    return ShapeError(error.op, f"in a {construct} loop on traced values, {error.detail}", user_source_line(),
                      error.fix)


def and_(left, right_fn):
    """left and right (right evaluated only when needed, as in Python, if left is concrete)."""
    known, value = concrete(left)
    if known:
        return right_fn() if value else left
    return logical_and(left, right_fn())


def or_(left, right_fn):
    known, value = concrete(left)
    if known:
        return left if value else right_fn()
    return logical_or(left, right_fn())


def not_(x):
    known, value = concrete(x)
    return (not value) if known else logical_not(x)


def unsupported(construct: str, test, lineno: int, filename: str):
    """A construct autograph cannot convert: fine on a concrete value, an error naming it on a traced one."""
    known, value = concrete(test)
    if known:
        return value
    raise NotImplementedError(
        f"{construct} depends on a traced value and cannot be converted to dualtape control flow\n"
        f"  at {filename}:{lineno}\n"
        "  fix: restructure it (assign a result variable in each branch and return it after the if/loop), or "
        "use dt.cond / dt.while_loop / dt.fori_loop directly")

