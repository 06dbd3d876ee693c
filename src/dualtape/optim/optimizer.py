"""`optim.Optimizer`: parameter groups, per-parameter state, zero_grad and state_dict, laid out as PyTorch's
(`param_groups[i]['lr']`, `state[p]`). Hyperparameters are Python numbers in the groups; all state that
changes from step to step lives in Tensors updated in place, so a traced step can carry it."""

from __future__ import annotations

from collections import defaultdict

import numpy as np

from ..eager.grad_mode import enable_grad, no_grad
from ..eager.lifting import LIFTING
from ..eager.tensor import Tensor
from ..nn.utils import zero_grads


class Optimizer:
    """Base class: subclasses pass their defaults and implement step()."""

    def __init__(self, params, defaults: dict):
        self.defaults = dict(defaults)
        self.state: defaultdict = defaultdict(dict)
        self.param_groups: list[dict] = []
        if isinstance(params, Tensor):
            raise TypeError("params argument given to the optimizer should be an iterable of Tensors or dicts, "
                            "but got a Tensor: pass [tensor] or module.parameters()")
        groups = list(params)
        if not groups:
            raise ValueError("optimizer got an empty parameter list (did the model register its Parameters? "
                             "list(model.parameters()) should not be empty)")
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        for group in groups:
            self.add_param_group(group)

    def add_param_group(self, param_group: dict) -> None:
        """Add a group of parameters with its own hyperparameters (missing ones take the defaults)."""
        if not isinstance(param_group, dict):
            raise TypeError(f"a param group must be a dict, got {type(param_group).__name__}")
        params = param_group["params"]
        if isinstance(params, Tensor):
            params = [params]
        elif isinstance(params, set):
            raise TypeError("optimizer parameters need to be organized in ordered collections, but the ordering of "
                            "tensors in sets will change between runs. Please use a list instead.")
        else:
            params = list(params)
        for p in params:
            if not isinstance(p, Tensor):
                raise TypeError(f"optimizer can only optimize Tensors, but one of the params is {type(p).__name__}")
            if not p.is_leaf:
                raise ValueError("can't optimize a non-leaf Tensor (optimize the leaf it was computed from, or "
                                 "detach it and set requires_grad=True)")
        if len({id(p) for p in params}) != len(params):
            raise ValueError("a parameter group contains the same parameter more than once")
        existing = {id(p) for group in self.param_groups for p in group["params"]}
        if any(id(p) in existing for p in params):
            raise ValueError("some parameters appear in more than one parameter group")
        group = {**self.defaults, **param_group, "params": params}
        self.param_groups.append(group)

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Reset every parameter's .grad: to None (the default), or to zeros in place."""
        zero_grads(self._all_params(), set_to_none)

    def step(self, closure=None):
        """One update of every parameter that has a .grad; returns the closure's loss (if given)."""
        loss = None
        if LIFTING.stack:  # (dt.compile is tracing: the program bakes in this optimiser's hyperparameters)
            LIFTING.stack[-1].saw_settings(self)
        if closure is not None:
            with enable_grad():
                loss = closure()
        with no_grad():
            for group in self.param_groups:
                if LIFTING.stack or not self._update_group(group):
                    for p in group["params"]:
                        if p.grad is not None:
                            self._update(p, group)
        return loss

    def _update(self, p, group: dict) -> None:
        """The update of one parameter p (with its .grad) under its group's hyperparameters."""
        raise NotImplementedError(f"{type(self).__name__} must define _update(p, group), the rule step() applies")

    def _update_group(self, group: dict) -> bool:
        """The update of a whole group at once (eager only), where the optimiser has one: whether it did it."""
        return False

    @staticmethod
    def _arrays(*tensors) -> list | None:
        """The tensors' NumPy arrays, where step() may update them in place directly: eager (not being traced by
        dt.compile), floating, writable, not views; else None, and the update runs as tensor operations. Either
        way one rule computes it (the optimiser's own, on arrays or on tensors), so the two agree bit for bit."""
        if LIFTING.stack:
            return None
        arrays = []
        for t in tensors:
            a = t._array
            if type(a) is not np.ndarray or t._view is not None or a.dtype.kind != "f" or not a.flags.writeable:
                return None
            arrays.append(a)
        return arrays

    @staticmethod
    def _write(pairs) -> None:
        """Each (tensor, new array) written into the tensor's storage, its version advanced (as an in-place
        tensor operation would: a graph that saved the old value then refuses to backward)."""
        for t, new in pairs:
            t._array[...] = new
            t._version[0] += 1

    @staticmethod
    def _add_into(t, step) -> None:
        """An update step added into the tensor's NumPy array in place (p + step computed into p's own memory:
        the bits of p + step, in one pass), its version advanced as by an in-place tensor operation."""
        np.add(t._array, step, out=t._array)
        t._version[0] += 1

    # ---- state_dict ---------------------------------------------------------------------------------------
    def _all_params(self) -> list:
        return [p for group in self.param_groups for p in group["params"]]

    def state_dict(self) -> dict:
        """{'state': {index: {name: value}}, 'param_groups': [{hyperparameters..., 'params': [indices]}]};
        parameters are numbered in group order, and state tensors are the live ones (not copies)."""
        index = {id(p): i for i, p in enumerate(self._all_params())}
        groups = [{**{k: v for k, v in g.items() if k != "params"}, "params": [index[id(p)] for p in g["params"]]}
                  for g in self.param_groups]
        state = {index[id(p)]: dict(s) for p, s in self.state.items() if id(p) in index}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: dict) -> None:
        """Take hyperparameters and (copies of) state from state_dict; everything is checked first, so an error
        leaves the optimizer as it was."""
        saved = state_dict["param_groups"]
        if len(saved) != len(self.param_groups):
            raise ValueError(f"loaded state dict has a different number of parameter groups ({len(saved)}) than "
                             f"this optimizer ({len(self.param_groups)})")
        if any(len(s["params"]) != len(g["params"]) for s, g in zip(saved, self.param_groups)):
            raise ValueError("loaded state dict contains a parameter group that doesn't match the size of "
                             "optimizer's group")
        by_index = {i: p for s, g in zip(saved, self.param_groups) for i, p in zip(s["params"], g["params"])}
        state = defaultdict(dict)
        for i, entries in state_dict["state"].items():
            if i not in by_index:
                raise ValueError(f"loaded state dict has state for parameter {i}, which is in no parameter group")
            p = by_index[i]
            state[p] = {name: _state_copy(p, name, value) for name, value in entries.items()}
        for s, g in zip(saved, self.param_groups):
            g.update({k: v for k, v in s.items() if k != "params"})
        self.state = state

    def __repr__(self):
        lines = [f"{type(self).__name__} ("]
        for i, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            lines += [f"    {key}: {group[key]}" for key in sorted(group) if key != "params"]
        return "\n".join(lines + [")"])


def _state_copy(p, name: str, value):
    """A private copy of one state entry; floating tensors other than 'step' take the parameter's dtype, and
    tensors shaped like a parameter must match its shape."""
    if not isinstance(value, Tensor):
        return value
    copy = value.detach().clone()
    if name == "step":
        return copy
    copy = copy.to(p.device)  # (as PyTorch: state follows its parameter to the GPU)
    if copy.ndim and copy.shape != p.shape:
        raise ValueError(f"loaded optimizer state {name!r} has shape {copy.shape}, but its parameter has shape "
                         f"{p.shape}")
    if np.issubdtype(copy.dtype, np.floating) and copy.dtype != p.dtype:
        copy = copy.to(p.dtype)
    return copy
