"""The operators that autograph's rewritten code calls (as `ag__.<name>`): each decides at run time whether
its condition is a concrete Python value (run as ordinary Python) or a traced one (record a structured
control-flow primitive, with the variables the statement assigns as its carried state)."""

from __future__ import annotations

import functools

import numpy as np

from .. import tree
from .._util import user_source_line
from ..avals import aval_of
from ..control.flow import cond, fori_loop, while_loop
from ..core.primitive import trace_of
from ..errors import ShapeError, UnsupportedError
from ..numpy import logical_and, logical_not, logical_or, where


class Undefined:
    """The value of a variable that has no value yet where a statement begins (defined inside it), or that a
    traced if assigned in one branch only. Harmless until used: any use raises an error naming it.
    `placeholder`: the value a traced loop starts it from (a `for` target); `message`: why it has no value."""

    __slots__ = ("name", "where", "message", "placeholder")

    def __init__(self, name: str, where=None, message: str | None = None, placeholder=None):
        self.name, self.where = name, where  # where: the traced if that assigned it in one branch only
        self.message, self.placeholder = message, placeholder

    def __repr__(self):
        return f"<undefined {self.name}>"

    def error(self) -> NotImplementedError:
        if self.message is not None:
            return NotImplementedError(self.message)
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
    while trace_of(x) is not None:
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


def loop_target(frame_locals: dict, name: str, start):
    """The value of a `for` target before its loop: its own where it has one, else an Undefined that a traced
    loop starts from `start` (Python would leave it unbound after a loop that runs zero times)."""
    value = frame_locals.get(name)
    if name in frame_locals and not isinstance(value, Undefined):
        return value
    return Undefined(name, placeholder=start)


class Field:
    """An attribute or item that a statement on a traced value assigns (`s.h`, `state["h"]`), carried like a
    variable: read before the statement, put in place around each traced branch or loop body (so that no value
    of an inner trace stays in the object), and written back after the statement."""

    __slots__ = ("name", "locate", "is_item")

    def __init__(self, name: str, locate, is_item: bool):
        self.name, self.locate, self.is_item = name, locate, is_item  # locate(): (the object, its key or attribute)

    def get(self):
        try:
            owner, key = self.locate()
            return owner[key] if self.is_item else getattr(owner, key)
        except (NameError, LookupError, AttributeError):  # not assigned yet
            return Undefined(self.name)

    def put(self, value, restore: bool = False) -> None:
        """Store value; when restoring the value before the statement, an Undefined one removes the field."""
        try:
            owner, key = self.locate()
            remove = restore and isinstance(value, Undefined)
            if self.is_item and remove:
                del owner[key]
            elif self.is_item:
                owner[key] = value
            elif remove:
                delattr(owner, key)
            else:
                setattr(owner, key, value)
        except (NameError, LookupError, AttributeError):
            if not restore:
                raise


def attr(name: str, locate) -> Field:
    """The attribute `locate()[1]` of the object `locate()[0]` (written `name` in the user's code)."""
    return Field(name, locate, False)


def item(name: str, locate) -> Field:
    """The item `locate()[1]` of the container `locate()[0]` (written `name` in the user's code)."""
    return Field(name, locate, True)


class _Carried:
    """The state of a statement on traced values with the fields it assigns appended (values and names), and
    its functions made to put the fields' values in place before each call and read them back after."""

    def __init__(self, state, names, fields):
        self.n, self.fields = len(state), tuple(fields)
        self.before = tuple(f.get() for f in self.fields)
        self.state = tuple(state) + self.before
        self.names = tuple(names) + tuple(f.name for f in self.fields)

    def put(self, values, restore: bool) -> None:
        for f, v in zip(self.fields, values):
            f.put(v, restore)

    def wrap(self, fn, lead: int = 0, test: bool = False):
        """fn(*lead_args, *variables) as a function of the variables and then the fields."""
        if not self.fields:
            return fn
        end = lead + self.n

        def run(*args):
            self.put(args[end:], restore=True)
            out = fn(*args[:end])
            return out if test else tuple(out) + tuple(f.get() for f in self.fields)
        return run

    def run(self, traced, *fns):
        """traced(*fns wrapped, state, names): the fields written back after it (or restored if it fails);
        returns the variables' values."""
        try:
            results = tuple(traced(*fns, self.state, self.names))
        except BaseException:
            self.put(self.before, restore=True)
            raise
        self.put(results[self.n:], restore=False)
        return results[:self.n]


class _OneBranchOnly(Exception):
    """Raised while tracing a branch that leaves these variables undefined: the if is traced again without
    them."""

    def __init__(self, names):
        self.names = names


def if_stmt(test, true_fn, false_fn, state, names, fields=()):
    """if test: state = true_fn(*state) else: state = false_fn(*state). On a traced test, a variable that only
    one branch assigns comes out undefined (an error when used, not before)."""
    known, value = concrete(test)
    if known:
        return (true_fn if value else false_fn)(*state)
    carried = _Carried(state, names, fields)
    return carried.run(_traced_if, test, carried.wrap(true_fn), carried.wrap(false_fn))


def _traced_if(test, true_fn, false_fn, state, names):
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
    line = user_source_line()
    return tuple(next(results) if n in outputs else Undefined(n, line) for n in names)


def if_exp(test, true_fn, false_fn):
    """a if test else b."""
    known, value = concrete(test)
    if known:
        return true_fn() if value else false_fn()
    return cond(test, lambda: true_fn(), lambda: false_fn())


def while_stmt(test_fn, body_fn, state, names, fields=()):
    """while test_fn(*state): state = body_fn(*state). Iterations with a concrete test run as Python; from the
    first traced test on, the rest is one while_loop."""
    while True:
        known, value = concrete(test_fn(*state))
        if not known:
            break
        if not value:
            return state
        state = body_fn(*state)
    carried = _Carried(state, names, fields)
    return carried.run(_traced_while, carried.wrap(test_fn, test=True), carried.wrap(body_fn))


def _traced_while(test_fn, body_fn, state, names):
    carried = [not isinstance(v, Undefined) or v.placeholder is not None for v in state]
    init = tuple(v.placeholder if isinstance(v, Undefined) else v for v, c in zip(state, carried) if c)

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


def for_range(range_args, body_fn, state, names, fields=(), target_reassigned=False, target_read=True):
    """for i in range(*range_args): state = body_fn(i, *state), where state[0] is the target i, which the loop
    binds as Python does (body_fn returns it too where it assigns it). Concrete bounds run as ordinary Python
    (the loop unrolls into the trace, as docs/control_flow.md says of conditions on Python values); a traced bound makes
    one fori_loop, after which i is the last index (its value before the loop, or else the start, after no
    iteration). `target_read=False`: the function never reads i after the loop, which need not compute it."""
    (target, *state), (name, *names) = state, names
    bounds = [concrete(a) for a in range_args]
    if all(k for k, _ in bounds):
        state = tuple(state)
        for i in range(*[v for _, v in bounds]):
            out = tuple(body_fn(i, *state))
            target, state = (out[0], out[1:]) if target_reassigned else (i, out)
        return (target,) + state
    if len(range_args) == 3:
        raise NotImplementedError(f"for {name} in range(start, stop, step) with a traced bound: a step is not "
                                  f"supported\n  at {user_source_line()}\n  fix: write a while loop")
    lower, upper = (0, range_args[0]) if len(range_args) == 1 else range_args
    step = (lambda i, *args: tuple(body_fn(i, *args))[1:]) if target_reassigned else body_fn
    carried = _Carried(state, names, fields)
    results = carried.run(functools.partial(_traced_for, lower, upper), carried.wrap(step, lead=1))
    if not target_read:  # the function does not read i after the loop: it is left as it was
        after = target
    elif target_reassigned:
        after = Undefined(name, message=f"the loop variable '{name}' is assigned inside a for loop over a traced "
                          f"range, so its value after the loop is not kept\n  at {user_source_line()}\n"
                          "  fix: assign another variable inside the loop")
    else:
        after = _last_index(name, lower, upper, target)
    return (after,) + results


def _traced_for(lower, upper, body_fn, state, names):
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


def _last_index(name, lower, upper, before):
    """The loop variable after `for name in range(lower, upper)` with a traced bound: upper - 1 if the loop ran,
    else its value before the loop (an integer), or lower where it had none."""
    if not isinstance(before, Undefined):
        try:
            aval = aval_of(before)
        except TypeError:
            aval = None
        if aval is None or aval.shape != () or np.dtype(aval.dtype).kind not in "iu":
            return Undefined(name, message=f"the loop variable '{name}' held {aval or type(before).__name__} "
                             f"before a for loop over a traced range, so after a loop that may run zero times it "
                             f"has no single type\n  at {user_source_line()}\n  fix: use another name for the "
                             "loop variable")
    return where(upper > lower, upper - 1, lower if isinstance(before, Undefined) else before)


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


def unsupported(construct: str, test, lineno: int, filename: str, fix: str | None = None):
    """A construct autograph cannot convert: fine on a concrete value, an error naming it on a traced one."""
    known, value = concrete(test)
    if known:
        return value
    fix = fix or ("restructure it (assign a result variable in each branch and return it after the if/loop), or "
                  "use dt.cond / dt.while_loop / dt.fori_loop directly")
    raise UnsupportedError(construct, where=f"{filename}:{lineno}", fix=fix,
                           reason="depends on a traced value and cannot be converted to dualtape control flow")
