"""Whether eager operations record the graph: `no_grad`, `enable_grad`, `set_grad_enabled`, `inference_mode`
(context managers and decorators, as in PyTorch). The mode is per thread, as in PyTorch: `STATE.enabled` is read
on every eager op, so it stays a plain attribute read on a `threading.local`."""

from __future__ import annotations

import functools
import inspect
import threading


class _State(threading.local):
    enabled = True  # class attributes: the defaults each new thread starts from
    inference = False  # inside inference_mode(): tensors made are inference tensors (Tensor.is_inference)


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

    def _again(self):
        """A fresh context manager of this mode (one per call of a decorated function: calls may nest or recurse)."""
        return set_grad_enabled(self.mode)

    def __call__(self, fn):
        again = self._again
        if inspect.isgeneratorfunction(fn):
            return _wrap_generator(again, fn)

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with again():
                return fn(*args, **kwargs)

        return wrapper


def _wrap_generator(again, fn):
    """Runs the generator's body under the mode `again()` enters at each resume, and the caller's code between
    resumes in its own."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        gen = fn(*args, **kwargs)
        try:
            with again():
                value = gen.send(None)
            while True:
                try:
                    sent = yield value
                except GeneratorExit:
                    with again():
                        gen.close()
                    raise
                except BaseException as exc:  # thrown in by the caller: pass it on to the generator
                    with again():
                        value = gen.throw(exc)
                else:
                    with again():
                        value = gen.send(sent)
        except StopIteration as stop:
            return stop.value

    return wrapper


class _BareDecoratorMode(_GradMode):
    """A mode that takes no argument, so also decorates without parentheses: `@no_grad` as `@no_grad()`."""

    def __new__(cls, fn=None):
        if fn is None:
            return super().__new__(cls)
        return cls()(fn)


class no_grad(_BareDecoratorMode):
    """Operations inside do not record the graph (their results do not require grad)."""

    mode = False


class enable_grad(_BareDecoratorMode):
    """Recording on again (inside a no_grad block, say)."""

    mode = True


class inference_mode(_GradMode):
    """As no_grad, and the tensors made inside are inference tensors, which (as PyTorch's) a recorded operation
    outside may not save for backward, nor an in-place operation outside change; inference_mode(False) turns
    recording back on. `@inference_mode` bare decorates as `@inference_mode()` does."""

    def __new__(cls, mode=True):
        if callable(mode):  # a function, not a bool: used as a decorator without parentheses
            return cls()(mode)
        return super().__new__(cls)

    def __init__(self, mode: bool = True):
        self.inference = bool(mode)
        self.mode = not mode

    def __enter__(self):
        self._previous_inference = STATE.inference
        STATE.inference = self.inference
        return super().__enter__()

    def __exit__(self, *exc):
        STATE.inference = self._previous_inference
        return super().__exit__(*exc)

    def _again(self):
        return inference_mode(self.inference)


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
