"""The Python settings a compiled program bakes in as constants: the hyperparameters in the param_groups of
the optimisers the function refers to (a learning rate a scheduler changes) and the training flags (and
submodules) of its modules. They are checked again at each call, and a change traces the function again, so a
cached program never runs with stale numbers."""

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


class SettingsGuard:
    """The settings of these modules and optimisers as traced, checked at each call without building a key:
    every module of their trees, each once, with its training flag and its children (so each tree walks the
    same: a child added, removed or replaced fails), and each optimiser's param_groups item by item (a value
    still the same object is equal without comparing; an unhashable one is compared by its repr)."""

    __slots__ = ("modules", "optimizers")

    def __init__(self, objects):
        self.modules: list[tuple] = []  # (module, its training flag, its children)
        self.optimizers: list[tuple] = []  # (optimiser, [(_size(group), ((name, value or its repr), ...)), ...])
        seen: set[int] = set()
        for obj in objects:
            if isinstance(obj, Optimizer):
                groups = [(_size(group), tuple((k, _hashable(v)) for k, v in group.items() if k != "params"))
                          for group in obj.param_groups]
                self.optimizers.append((obj, groups))
                continue
            for m in obj.modules():
                if id(m) not in seen:
                    seen.add(id(m))
                    self.modules.append((m, m.training, tuple(m._modules.values())))

    def holds(self) -> bool:
        for m, training, children in self.modules:
            now = m.training
            if (now is not training and now != training) or tuple(m._modules.values()) != children:
                return False
        for opt, groups in self.optimizers:
            if len(opt.param_groups) != len(groups):
                return False
            for group, (size, items) in zip(opt.param_groups, groups):
                if _size(group) != size:
                    return False
                for k, v in items:
                    now = group.get(k, _MISSING)
                    if now is not v and (now is _MISSING or _hashable(now) != v):
                        return False
        return True


_MISSING = object()


def _size(group: dict) -> int:
    """How many settings a param group holds (its items but "params")."""
    return len(group) - ("params" in group)


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
