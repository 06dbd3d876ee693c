"""Whether eager operations record the graph: `no_grad`, `enable_grad`, `set_grad_enabled`, `inference_mode`
(context managers and decorators, as in PyTorch)."""

from __future__ import annotations

import functools


class _State:
    enabled = True


STATE = _State()


def is_grad_enabled() -> bool:
    return STATE.enabled


class _GradMode:
    """Sets grad recording to `self.mode` inside a with block or a decorated function, restoring it after."""

    mode = True

    def __enter__(self):
        self._previous = STATE.enabled
        STATE.enabled = self.mode
        return self

    def __exit__(self, *exc):
        STATE.enabled = self._previous
        return False

    def __call__(self, fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with set_grad_enabled(self.mode):  # (a fresh one per call: calls may nest or recurse)
                return fn(*args, **kwargs)

        return wrapper


class no_grad(_GradMode):
    """Operations inside do not record the graph (their results do not require grad)."""

    mode = False


class enable_grad(_GradMode):
    """Recording on again (inside a no_grad block, say)."""

    mode = True


class inference_mode(_GradMode):
    """As no_grad (dualtape keeps no extra bookkeeping that inference mode could skip)."""

    def __init__(self, mode: bool = True):
        self.mode = not mode


class set_grad_enabled(_GradMode):
    """Recording on or off; takes effect at once (as in PyTorch) and also works as a context manager."""

    def __init__(self, mode: bool):
        self.mode = bool(mode)
        self._previous = STATE.enabled
        STATE.enabled = self.mode

    def __enter__(self):
        return self  # already in effect; __exit__ restores what was there before the call

    def __call__(self, fn):
        STATE.enabled = self._previous  # used as a decorator: only calls of fn change the mode
        return super().__call__(fn)
