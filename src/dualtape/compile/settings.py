"""The Python settings a compiled program bakes in as constants: the hyperparameters in the param_groups of
the optimisers the function refers to (a learning rate a scheduler changes) and the training flags of its
modules. They are read again at each call, and a change traces the function again, so a cached program
never runs with stale numbers."""

from __future__ import annotations

from ..nn.module import Module
from ..optim.optimizer import Optimizer


def referenced(fn) -> list[tuple[str, object]]:
    """(variable name, object) for the modules and optimisers fn reaches: fn itself if a module, the
    attributes of a bound method's object, and what fn's code reads from its closure and globals."""
    found = [("", fn)] if isinstance(fn, Module) else []
    owner = getattr(fn, "__self__", None)
    if owner is not None and hasattr(owner, "__dict__"):
        found += [("self", owner)] + list(vars(owner).items())
    code = getattr(fn, "__code__", None)
    if code is not None:
        found += [(name, _cell(c)) for name, c in zip(code.co_freevars, fn.__closure__ or ())]
        found += [(name, fn.__globals__[name]) for name in code.co_names if name in fn.__globals__]
    return [(var, obj) for var, obj in found if isinstance(obj, (Module, Optimizer))]


def settings_key(objects) -> tuple:
    """The settings of these modules and optimisers, as one comparable value."""
    key = []
    for obj in objects:
        if isinstance(obj, Optimizer):
            key.append(tuple(tuple((k, _hashable(v)) for k, v in sorted(group.items()) if k != "params")
                             for group in obj.param_groups))
        else:
            key.append(tuple(m.training for m in obj.modules()))
    return tuple(key)


def _hashable(value):
    try:
        hash(value)
        return value
    except TypeError:
        return repr(value)


def _cell(cell):
    try:
        return cell.cell_contents
    except ValueError:  # (an empty cell)
        return None
