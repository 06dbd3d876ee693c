"""`nn.Module`: the base class of layers and models, as PyTorch's. Assigning a Parameter or a Module to an
attribute registers it; parameters, buffers and submodules are found recursively, in registration order, for
`parameters()`, `state_dict()`, `zero_grad()`, `train()` / `eval()` and the printed tree."""

from __future__ import annotations

from collections import OrderedDict, namedtuple

import numpy as np

from ..avals import is_float
from ..eager import devices as _device
from ..eager.grad_mode import no_grad
from ..eager.lifting import LIFTING
from ..eager.tensor import Tensor
from .parameter import Parameter
from .utils import zero_grads

IncompatibleKeys = namedtuple("IncompatibleKeys", ["missing_keys", "unexpected_keys"])


def _indent(text: str, spaces: int) -> str:
    """Every line of text but the first indented by `spaces` (nested module reprs)."""
    first, *rest = text.split("\n")
    return "\n".join([first] + [" " * spaces + line for line in rest])


class Module:
    """Base class for all neural-network modules: subclass it, assign layers and Parameters in __init__
    (after calling super().__init__()), and define forward."""

    def __init__(self):
        object.__setattr__(self, "training", True)
        object.__setattr__(self, "_parameters", OrderedDict())
        object.__setattr__(self, "_buffers", OrderedDict())
        object.__setattr__(self, "_modules", OrderedDict())

    def forward(self, *args, **kwargs):
        raise NotImplementedError(f'Module [{type(self).__name__}] is missing the required "forward" function')

    def __call__(self, *args, **kwargs):
        if LIFTING.stack:  # (dt.compile is tracing: the program bakes in this module's training flags)
            LIFTING.stack[-1].saw_settings(self)
        return self.forward(*args, **kwargs)

    # ---- registration ---------------------------------------------------------------------------------
    def _registry(self, kind: str, what: str) -> OrderedDict:
        found = self.__dict__.get(kind)
        if found is None:
            raise AttributeError(f"cannot assign {what} before Module.__init__() call "
                                 f"(call super().__init__() first in {type(self).__name__}.__init__)")
        return found

    def _forget(self, name: str, keeping: str) -> None:
        """name is about to become an entry of the registry `keeping`: drop it everywhere else (an entry
        already there is replaced in place, so parameters() keeps its order, as in PyTorch)."""
        self.__dict__.pop(name, None)
        for kind in ("_parameters", "_buffers", "_modules"):
            if kind != keeping:
                self.__dict__[kind].pop(name, None)

    def __setattr__(self, name, value):
        params, modules, buffers = (self.__dict__.get(k) for k in ("_parameters", "_modules", "_buffers"))
        if isinstance(value, Parameter):
            self._registry("_parameters", "parameters")
            self._forget(name, "_parameters")
            params[name] = value
        elif params is not None and name in params:
            if value is not None:
                raise TypeError(f"cannot assign '{type(value).__name__}' as parameter '{name}' "
                                "(dt.nn.Parameter or None expected)")
            params[name] = None
        elif isinstance(value, Module):
            self._registry("_modules", "module")
            self._forget(name, "_modules")
            modules[name] = value
        elif modules is not None and name in modules:
            if value is not None:
                raise TypeError(f"cannot assign '{type(value).__name__}' as child module '{name}' "
                                "(dt.nn.Module or None expected)")
            modules[name] = None
        elif buffers is not None and name in buffers:
            if value is not None and not isinstance(value, Tensor):
                raise TypeError(f"cannot assign '{type(value).__name__}' as buffer '{name}' (Tensor or None expected)")
            buffers[name] = value
        else:
            object.__setattr__(self, name, value)

    def __getattr__(self, name):
        for kind in ("_parameters", "_buffers", "_modules"):
            registry = self.__dict__.get(kind)
            if registry is not None and name in registry:
                return registry[name]
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")

    def __delattr__(self, name):
        for kind in ("_parameters", "_buffers", "_modules"):
            if name in self.__dict__.get(kind, ()):
                del self.__dict__[kind][name]
                return
        object.__delattr__(self, name)

    def _check_name(self, name, kind: str, registry: str) -> None:
        if not isinstance(name, str):
            raise TypeError(f"{kind} name should be a string, got {type(name).__name__}")
        if not name or "." in name:
            raise KeyError(f'{kind} name can\'t be empty or contain ".", got: {name!r}')
        if hasattr(self, name) and name not in self.__dict__[registry]:
            raise KeyError(f"attribute '{name}' already exists")

    def register_parameter(self, name: str, param) -> None:
        """Add a parameter (a Parameter, or None for an absent one such as a layer without bias)."""
        self._registry("_parameters", "parameters")
        self._check_name(name, "parameter", "_parameters")
        if param is not None and not isinstance(param, Parameter):
            raise TypeError(f"cannot assign '{type(param).__name__}' object to parameter '{name}' "
                            "(dt.nn.Parameter or None required)")
        self._forget(name, "_parameters")
        self._parameters[name] = param

    def register_buffer(self, name: str, tensor) -> None:
        """Add a tensor that is part of the state (state_dict) but not a parameter."""
        self._registry("_buffers", "buffers")
        self._check_name(name, "buffer", "_buffers")
        if tensor is not None and not isinstance(tensor, Tensor):
            raise TypeError(f"cannot assign '{type(tensor).__name__}' object to buffer '{name}' (Tensor or None "
                            "required)")
        self._forget(name, "_buffers")
        self._buffers[name] = tensor

    def add_module(self, name: str, module) -> None:
        """Add a child module (or None)."""
        self._registry("_modules", "module")
        self._check_name(name, "module", "_modules")
        if module is not None and not isinstance(module, Module):
            raise TypeError(f"{type(module).__name__} is not a Module subclass")
        self._forget(name, "_modules")
        self._modules[name] = module

    register_module = add_module

    # ---- traversal ------------------------------------------------------------------------------------
    def named_modules(self, memo=None, prefix: str = ""):
        """(qualified name, module) for this module and every descendant, each once."""
        memo = set() if memo is None else memo
        if id(self) in memo:
            return
        memo.add(id(self))
        yield prefix, self
        for name, module in self._modules.items():
            if module is not None:
                yield from module.named_modules(memo, f"{prefix}.{name}" if prefix else name)

    def modules(self):
        return (m for _, m in self.named_modules())

    def named_children(self):
        seen = set()
        for name, module in self._modules.items():
            if module is not None and id(module) not in seen:
                seen.add(id(module))
                yield name, module

    def children(self):
        return (m for _, m in self.named_children())

    def _named_members(self, kind: str, prefix: str, recurse: bool):
        seen = set()
        owners = self.named_modules(prefix=prefix) if recurse else [(prefix, self)]
        for owner_name, owner in owners:
            for name, value in owner.__dict__[kind].items():
                if value is None or id(value) in seen:
                    continue
                seen.add(id(value))
                yield (f"{owner_name}.{name}" if owner_name else name), value

    def named_parameters(self, prefix: str = "", recurse: bool = True):
        """(qualified name, Parameter) pairs, shared parameters listed once."""
        return self._named_members("_parameters", prefix, recurse)

    def parameters(self, recurse: bool = True):
        return (p for _, p in self.named_parameters(recurse=recurse))

    def named_buffers(self, prefix: str = "", recurse: bool = True):
        return self._named_members("_buffers", prefix, recurse)

    def buffers(self, recurse: bool = True):
        return (b for _, b in self.named_buffers(recurse=recurse))

    def apply(self, fn) -> "Module":
        """fn(module) for every child (recursively), then for self."""
        for module in self.children():
            module.apply(fn)
        fn(self)
        return self

    # ---- modes and gradients --------------------------------------------------------------------------
    def train(self, mode: bool = True) -> "Module":
        if not isinstance(mode, bool):
            raise ValueError("training mode is expected to be boolean")
        self.training = mode
        for module in self.children():
            module.train(mode)  # (through each child's own train, which a subclass may extend)
        return self

    def eval(self) -> "Module":
        return self.train(False)

    def requires_grad_(self, requires_grad: bool = True) -> "Module":
        for p in self.parameters():
            p.requires_grad_(requires_grad)
        return self

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Reset the gradients of all parameters: to None (the default), or to zeros in place."""
        zero_grads(self.parameters(), set_to_none)

    def to(self, *args, device=None, dtype=None) -> "Module":
        """Move parameters (and their grads) and buffers to a device and/or convert the floating-point ones to
        dtype, in place (the Parameter objects stay, so optimizers keep working): to(dtype), to(device),
        to(device, dtype), to(device=, dtype=)."""
        for arg in args:
            if isinstance(arg, _device.device) or isinstance(arg, str) and arg.partition(":")[0] in ("cpu", "cuda"):
                device = arg
            else:
                dtype = arg

        def convert(t):
            t = t if device is None else t.to(device)
            return t.to(dtype) if dtype is not None and is_float(t.dtype) and t.dtype.kind != "c" else t

        for p in self.parameters():
            p.data = convert(p.detach()).data
            if p.grad is not None:
                p.grad = convert(p.grad.detach())
        for module in self.modules():
            for name, b in module._buffers.items():
                if b is not None:
                    module._buffers[name] = convert(b)
        return self

    def cuda(self, device=None) -> "Module":
        """Parameters and buffers moved to the GPU (needs CuPy)."""
        return self.to(_device.parse("cuda" if device is None else device))

    def cpu(self) -> "Module":
        return self.to("cpu")

    def double(self) -> "Module":
        return self.to(np.float64)

    def float(self) -> "Module":
        return self.to(np.float32)

    # ---- state ----------------------------------------------------------------------------------------
    def state_dict(self, destination=None, prefix: str = "", keep_vars: bool = False) -> OrderedDict:
        """Parameters and buffers by qualified name; the values share storage with the module's (detached,
        unless keep_vars)."""
        destination = OrderedDict() if destination is None else destination
        for kind in ("_parameters", "_buffers"):
            for name, value in self.__dict__[kind].items():
                if value is not None:
                    destination[prefix + name] = value if keep_vars else value.detach()
        for name, module in self._modules.items():
            if module is not None:
                module.state_dict(destination, prefix + name + ".", keep_vars)
        return destination

    def load_state_dict(self, state_dict, strict: bool = True) -> IncompatibleKeys:
        """Copy values from state_dict into the parameters and buffers (in place). Every key and shape is
        checked before anything is copied, so an error leaves the module as it was."""
        own = self.state_dict(keep_vars=True)
        missing = [k for k in own if k not in state_dict]
        unexpected = [k for k in state_dict if k not in own]
        errors = []
        if strict and missing:
            errors.append("Missing key(s) in state_dict: " + ", ".join(f'"{k}"' for k in missing) + ".")
        if strict and unexpected:
            errors.append("Unexpected key(s) in state_dict: " + ", ".join(f'"{k}"' for k in unexpected) + ".")
        for key, target in own.items():
            if key not in state_dict:
                continue
            value = state_dict[key]
            shape = value.shape if isinstance(value, Tensor) else tuple(np.shape(value))
            if shape != target.shape:
                errors.append(f"size mismatch for {key}: copying a param with shape {shape} from checkpoint, "
                              f"the shape in current model is {target.shape}.")
        if errors:
            raise RuntimeError(f"Error(s) in loading state_dict for {type(self).__name__}:\n\t" + "\n\t".join(errors))
        with no_grad():
            for key, target in own.items():
                if key in state_dict:
                    target.copy_(state_dict[key])
        return IncompatibleKeys(missing, unexpected)

    # ---- printing -------------------------------------------------------------------------------------
    def extra_repr(self) -> str:
        """The module's own settings, shown inside its parentheses (override in subclasses)."""
        return ""

    def __repr__(self):
        extra = self.extra_repr()
        extra_lines = extra.split("\n") if extra else []
        child_lines = [f"({name}): " + _indent(repr(module), 2) for name, module in self._modules.items()]
        lines = extra_lines + child_lines
        body = ""
        if len(extra_lines) == 1 and not child_lines:
            body = extra_lines[0]
        elif lines:
            body = "\n  " + "\n  ".join(lines) + "\n"
        return f"{type(self).__name__}({body})"
