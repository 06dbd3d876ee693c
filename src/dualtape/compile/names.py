"""Readable names for the tensors a compiled function reads: the parameters and buffers of the modules it
refers to (`model_0_weight`, after the variable it uses and the module path), their optimisers' state
(`model_0_weight_momentum_buffer`) and gradients (`model_0_weight_grad`), so the program reads like the
step it came from."""

from __future__ import annotations

import re

from ..eager.lifting import grad_of
from ..eager.tensor import Tensor
from ..nn.module import Module
from ..optim.optimizer import Optimizer
from .settings import referenced


class TensorNames:
    """Names found from the objects fn refers to; looked up again when a tensor is new (optimiser state
    made during the trace)."""

    def __init__(self, fn):
        self.roots = referenced(fn)
        self.names: dict[int, str] = {}
        self.refresh()

    def refresh(self) -> None:
        for var, obj in self.roots:
            if isinstance(obj, Module):
                for path, t in list(obj.named_parameters()) + list(obj.named_buffers()):
                    self._name(t, f"{var}.{path}" if var else path)
        for var, obj in self.roots:
            if isinstance(obj, Optimizer):
                for i, (p, state) in enumerate(obj.state.items()):
                    base = self.names.get(id(p), f"{var}_{i}")
                    for key, t in state.items():
                        if isinstance(t, Tensor):
                            self._name(t, f"{base}_{key}")

    def _name(self, t: Tensor, name: str) -> None:
        name = _identifier(name)
        self.names.setdefault(id(t), name)
        grad = grad_of(t)
        if grad is not None:
            self.names.setdefault(id(grad), name + "_grad")

    def __call__(self, t: Tensor) -> str | None:
        if id(t) not in self.names:
            self.refresh()
        return self.names.get(id(t))


def _identifier(name: str) -> str:
    name = re.sub(r"\W", "_", name).strip("_") or "t"
    return "_" + name if name[0].isdigit() else name
