"""`dt.amp`: PyTorch's automatic mixed precision namespace: `autocast` (eager/autocast.py) and `GradScaler`.

A float16 backward loses small gradients to underflow (below 6e-8 they are zero). GradScaler multiplies the
loss by a large scale before backward() and divides the gradients by it before the optimiser uses them; a step
whose gradients hold an inf or a NaN (the scale was too large) is skipped and the scale backs off, and after
`growth_interval` clean steps it grows again. The scale is a float32 tensor updated in place (as PyTorch's),
so a dt.compile'd function that scales the loss reads its current value; `step` and `update` read the
gradients' values, so they run eagerly, outside such a function.
"""

from __future__ import annotations

import numpy as np

from .core.primitive import trace_of
from .eager import devices as _device
from .eager.autocast import autocast, get_autocast_dtype, is_autocast_enabled
from .eager.factories import tensor
from .eager.grad_mode import no_grad
from .eager.tensor import Tensor

READY, UNSCALED, STEPPED = "ready", "unscaled", "stepped"  # (an optimiser's stage within one iteration)


class GradScaler:
    """GradScaler(device="cpu", init_scale=2.0**16, growth_factor=2.0, backoff_factor=0.5, growth_interval=2000,
    enabled=True), as torch.amp.GradScaler: `scaler.scale(loss).backward(); scaler.step(optimizer);
    scaler.update()`."""

    def __init__(self, device: str = "cpu", init_scale: float = 2.0**16, growth_factor: float = 2.0,
                 backoff_factor: float = 0.5, growth_interval: int = 2000, enabled: bool = True):
        if growth_factor <= 1.0:
            raise ValueError(f"The growth factor must be > 1.0, got {growth_factor}")
        if not 0.0 < backoff_factor < 1.0:
            raise ValueError(f"The backoff factor must be < 1.0 (and > 0), got {backoff_factor}")
        if int(growth_interval) != growth_interval or growth_interval <= 0:
            raise ValueError(f"growth_interval must be a positive integer, got {growth_interval}")
        self.device, self._enabled = device, bool(enabled)
        self._scale, self._growth_tracker = tensor(init_scale, dtype=np.float32, device=device), 0
        self._growth_factor, self._backoff_factor = float(growth_factor), float(backoff_factor)
        self._growth_interval = int(growth_interval)
        self._per_optimizer: dict = {}  # id(optimizer) -> {"stage": ..., "found_inf": bool}

    def scale(self, outputs):
        """outputs (a tensor, or a list / tuple of them, nested) multiplied by the scale."""
        if not self._enabled:
            return outputs
        if isinstance(outputs, Tensor):
            return outputs * self._scale
        if isinstance(outputs, (list, tuple)):
            return type(outputs)(self.scale(o) for o in outputs)
        raise ValueError(f"outputs must be a Tensor or an iterable of Tensors, got {type(outputs).__name__}")

    def _state(self, optimizer) -> dict:
        return self._per_optimizer.setdefault(id(optimizer), {"stage": READY, "found_inf": False})

    def unscale_(self, optimizer) -> None:
        """Divide the optimiser's gradients by the scale, in place, and note whether any is inf or NaN."""
        if not self._enabled:
            return
        state = self._state(optimizer)
        if state["stage"] == UNSCALED:
            raise RuntimeError("unscale_() has already been called on this optimizer since the last update().")
        if state["stage"] == STEPPED:
            raise RuntimeError("unscale_() is being called after step().")
        grads = [p.grad for group in optimizer.param_groups for p in group["params"] if p.grad is not None]
        if any(trace_of(t._array) is not None for t in [self._scale, *grads]):
            raise RuntimeError("GradScaler needs the gradients' values to skip a step with infs or NaNs, but they "
                               "are being traced (dt.compile): call scaler.step(optimizer) and scaler.update() "
                               "outside the compiled function")
        if any(g.dtype == np.float16 for g in grads):
            raise ValueError("Attempting to unscale FP16 gradients: keep the parameters in float32 (autocast "
                             "computes in float16 for you)")
        inv_scale = float(np.float32(1.0) / np.float32(self.get_scale()))
        found_inf = not all(np.isfinite(_device.host(g._array)).all() for g in grads)
        with no_grad():
            for g in grads:
                g.mul_(inv_scale)
        state["stage"], state["found_inf"] = UNSCALED, found_inf

    def step(self, optimizer, *args, **kwargs):
        """optimizer.step(*args, **kwargs) on the unscaled gradients (unscaling them first if unscale_ was not
        called), or nothing if any is inf or NaN; returns what optimizer.step returns, or None when skipped."""
        if not self._enabled:
            return optimizer.step(*args, **kwargs)
        if "closure" in kwargs:
            raise RuntimeError("Closure use is not currently supported if GradScaler is enabled.")
        state = self._state(optimizer)
        if state["stage"] == STEPPED:
            raise RuntimeError("step() has already been called since the last update().")
        if state["stage"] == READY:
            self.unscale_(optimizer)
        result = None if state["found_inf"] else optimizer.step(*args, **kwargs)
        state["stage"] = STEPPED
        return result

    def update(self, new_scale=None) -> None:
        """The scale for the next iteration: new_scale if given; else backoff_factor times it if this
        iteration found an inf or NaN, growth_factor times it after growth_interval clean iterations."""
        if not self._enabled:
            return
        if new_scale is not None:
            self._set_scale(new_scale.item() if isinstance(new_scale, Tensor) else new_scale)
        else:
            if not self._per_optimizer:
                raise RuntimeError("No inf checks were recorded prior to update(): call step(optimizer) (or "
                                   "unscale_) first.")
            if any(s["found_inf"] for s in self._per_optimizer.values()):
                self._set_scale(self.get_scale() * self._backoff_factor)
                self._growth_tracker = 0
            else:
                self._growth_tracker += 1
                if self._growth_tracker == self._growth_interval:
                    self._set_scale(self.get_scale() * self._growth_factor)
                    self._growth_tracker = 0
        self._per_optimizer = {}

    def _set_scale(self, value) -> None:
        with no_grad():
            self._scale.fill_(float(np.float32(value)))

    def get_scale(self) -> float:
        return float(self._scale.item()) if self._enabled else 1.0

    def get_growth_factor(self) -> float:
        return self._growth_factor

    def set_growth_factor(self, new_factor: float) -> None:
        self._growth_factor = float(new_factor)

    def get_backoff_factor(self) -> float:
        return self._backoff_factor

    def set_backoff_factor(self, new_factor: float) -> None:
        self._backoff_factor = float(new_factor)

    def get_growth_interval(self) -> int:
        return self._growth_interval

    def set_growth_interval(self, new_interval: int) -> None:
        self._growth_interval = int(new_interval)

    def is_enabled(self) -> bool:
        return self._enabled

    def state_dict(self) -> dict:
        """scale, growth_factor, backoff_factor, growth_interval and _growth_tracker ({} when disabled)."""
        if not self._enabled:
            return {}
        return {"scale": self.get_scale(), "growth_factor": self._growth_factor,
                "backoff_factor": self._backoff_factor, "growth_interval": self._growth_interval,
                "_growth_tracker": self._growth_tracker}

    def load_state_dict(self, state_dict: dict) -> None:
        if not self._enabled:
            return
        if len(state_dict) == 0:
            raise RuntimeError("The source state dict is empty, possibly because it was saved from a disabled "
                               "instance of GradScaler.")
        self._set_scale(state_dict["scale"])
        self._growth_factor, self._backoff_factor = float(state_dict["growth_factor"]), float(
            state_dict["backoff_factor"])
        self._growth_interval = int(state_dict["growth_interval"])
        self._growth_tracker = int(state_dict["_growth_tracker"])

    def __repr__(self):
        return f"GradScaler(scale={self.get_scale()}, enabled={self._enabled})"


__all__ = ["GradScaler", "autocast", "get_autocast_dtype", "is_autocast_enabled"]
