"""`dt.autograd`: PyTorch's autograd namespace over eager tensors — grad, backward, Function, gradcheck,
gradgradcheck, and functional.{jacobian, hessian, jvp, vjp, hvp}."""

from __future__ import annotations

import types

import numpy as np

from . import api
from .eager import engine
from .eager.function import Function, FunctionCtx
from .eager.tensor import Tensor

__all__ = ["Function", "FunctionCtx", "GradcheckError", "backward", "functional", "grad", "gradcheck",
           "gradgradcheck"]

grad = engine.grad


def backward(tensors, grad_tensors=None, retain_graph=None, create_graph=False, inputs=None) -> None:
    tensors = [tensors] if isinstance(tensors, Tensor) else list(tensors)
    grads = [None] * len(tensors) if grad_tensors is None else (
        [grad_tensors] if isinstance(grad_tensors, Tensor) else list(grad_tensors))
    engine.backward(tensors, grads, retain_graph, create_graph, inputs)


class GradcheckError(RuntimeError):
    """The analytical and numerical Jacobians differ (the message names the worst entry)."""


def _as_tuple(x):
    return tuple(x) if isinstance(x, (tuple, list)) else (x,)


def _flat_outputs(fn, inputs):
    return [o for o in _as_tuple(fn(*inputs)) if isinstance(o, Tensor)]


def _numerical(fn, inputs, k, eps):
    """d outputs / d inputs[k] by central differences, one column per element of inputs[k]."""
    x = inputs[k]
    base = x._array
    columns = []
    for index in np.ndindex(base.shape):
        original = base[index]
        base[index] = original + eps
        plus = [np.array(o._array, dtype=np.float64).ravel() for o in _flat_outputs(fn, inputs)]
        base[index] = original - eps
        minus = [np.array(o._array, dtype=np.float64).ravel() for o in _flat_outputs(fn, inputs)]
        base[index] = original
        columns.append(np.concatenate([(p - m) / (2 * eps) for p, m in zip(plus, minus)]))
    return np.stack(columns, axis=1) if columns else np.zeros((0, 0))


def _analytical(fn, inputs, k, create_graph=False):
    outputs = _flat_outputs(fn, inputs)
    rows = []
    for o in outputs:
        flat = o._array.ravel() if hasattr(o._array, "ravel") else np.asarray(o._array).ravel()
        for j in range(flat.size):
            seed = np.zeros(flat.size, dtype=o.dtype)
            seed[j] = 1
            (g,) = engine.grad([o], [inputs[k]], [Tensor._wrap(seed.reshape(o.shape))], retain_graph=True,
                               allow_unused=True)
            rows.append(np.zeros(inputs[k].numel()) if g is None else np.asarray(g._array, np.float64).ravel())
    return np.stack(rows) if rows else np.zeros((0, inputs[k].numel()))


def _random_seeds(outputs, rng) -> list:
    """One random gradient per output (its shape and dtype): a wrong rule cannot pass by chance as it can with
    ones or one-hot seeds (e.g. a backward that ignores the incoming gradient, for a scalar output)."""
    return [rng.standard_normal(o.shape).astype(o.dtype) for o in outputs]


def _pullback_error(fn, inputs, k, numerical, atol, rtol, rng):
    """(worst excess over tolerance, its input element, numerical, analytical) for one random vector-Jacobian
    product: backward of random output gradients u against u·J from the finite differences."""
    outputs = _flat_outputs(fn, inputs)
    seeds = _random_seeds(outputs, rng)
    (g,) = engine.grad(outputs, [inputs[k]], [Tensor._wrap(u) for u in seeds], allow_unused=True)
    analytical = np.zeros(inputs[k].numel()) if g is None else np.asarray(g._array, np.float64).ravel()
    u = np.concatenate([np.asarray(s, np.float64).ravel() for s in seeds]) if seeds else np.zeros(0)
    expected = u @ numerical if u.size else np.zeros(inputs[k].numel())
    error = np.abs(analytical - expected) - (atol * np.abs(u).sum() + rtol * (np.abs(u) @ np.abs(numerical)))
    j = int(np.argmax(error)) if error.size else 0
    return (error[j] if error.size else 0.0), j, expected, analytical


def gradcheck(fn, inputs, eps=1e-6, atol=1e-5, rtol=1e-3, raise_exception=True) -> bool:
    """Compare backward's Jacobian with central finite differences for every input that requires grad
    (use float64 inputs), row by row and then for random output gradients (backward must be linear in the
    gradient it receives). Returns True, or raises GradcheckError naming the worst entry."""
    inputs = _as_tuple(inputs)
    rng = np.random.default_rng(0)
    for k, x in enumerate(inputs):
        if not (isinstance(x, Tensor) and x.requires_grad):
            continue
        if x.dtype != np.float64:
            raise GradcheckError(f"gradcheck needs float64 inputs for a meaningful comparison; input {k} is "
                                 f"{x.dtype}: use .double()")
        analytical = _analytical(fn, inputs, k)
        numerical = _numerical(fn, inputs, k, eps)
        error = np.abs(analytical - numerical) - (atol + rtol * np.abs(numerical))
        if error.size and error.max() > 0:
            i, j = np.unravel_index(np.argmax(error), error.shape)
            ends = np.cumsum([o.numel() for o in _flat_outputs(fn, inputs)])  # rows: the outputs, one after another
            out = int(np.searchsorted(ends, i, side="right"))
            element = i - (ends[out - 1] if out else 0)
            if raise_exception:
                raise GradcheckError(
                    f"Jacobian mismatch for output {out} with respect to input {k}: at (output element {element}, "
                    f"input element {j}) numerical {numerical[i, j]:.8g} vs analytical {analytical[i, j]:.8g}\n"
                    f"numerical:\n{numerical}\nanalytical:\n{analytical}")
            return False
        excess, j, expected, got = _pullback_error(fn, inputs, k, numerical, atol, rtol, rng)
        if excess > 0:
            if raise_exception:
                raise GradcheckError(
                    f"Jacobian mismatch for random output gradients u with respect to input {k}: backward(u) is "
                    f"not u @ J at input element {j}: numerical {expected[j]:.8g} vs analytical {got[j]:.8g} "
                    "(the one-hot rows agree: does backward use the values of the gradient it receives, linearly?)"
                    f"\nnumerical:\n{expected}\nanalytical:\n{got}")
            return False
    return True


def gradgradcheck(fn, inputs, grad_outputs=None, *, eps=1e-6, atol=1e-5, rtol=1e-3, raise_exception=True) -> bool:
    """gradcheck of the first derivatives (backward with create_graph=True) as a function of the inputs and of
    the output gradients, random unless given (as PyTorch): checks the second derivatives, and that backward
    is differentiated through the gradient it receives too (a detached gradient fails)."""
    inputs = _as_tuple(inputs)
    if not any(isinstance(x, Tensor) and x.requires_grad for x in inputs):
        return True
    if grad_outputs is None:
        seeds = _random_seeds(_flat_outputs(fn, inputs), np.random.default_rng(1))
        grad_outputs = tuple(Tensor._wrap(u).requires_grad_() for u in seeds)
    grad_outputs = _as_tuple(grad_outputs)
    n = len(inputs)

    def first_derivatives(*args):
        xs, seeds = args[:n], args[n:]
        outputs = _flat_outputs(fn, xs)
        chosen = [x for x in xs if isinstance(x, Tensor) and x.requires_grad]
        grads = engine.grad(outputs, chosen, list(seeds), create_graph=True, allow_unused=True)
        return tuple(g for g in grads if g is not None)

    try:
        return gradcheck(first_derivatives, inputs + grad_outputs, eps, atol, rtol, raise_exception)
    except GradcheckError as e:
        raise GradcheckError(f"gradgradcheck (the outputs are the first derivatives; inputs {n} and up are the "
                             f"gradients of fn's outputs): {e}") from None


def _functional():
    """PyTorch-style helpers over functions of tensors, built on dualtape's transforms."""
    def arrays_fn(func):
        def run(*arrays):
            out = func(*[Tensor._wrap(a) for a in arrays])
            return tuple(o._array if isinstance(o, Tensor) else o for o in out) if isinstance(out, tuple) else (
                out._array if isinstance(out, Tensor) else out)
        return run

    def _data(inputs):
        return tuple(x.detach()._array if isinstance(x, Tensor) else np.asarray(x) for x in _as_tuple(inputs))

    def _wrap(tree_out):
        if isinstance(tree_out, tuple):
            return tuple(_wrap(t) for t in tree_out)
        return Tensor._wrap(tree_out)

    def jacobian(func, inputs):
        """d func / d inputs (a tuple of Jacobians when inputs is a tuple)."""
        data = _data(inputs)
        nums = tuple(range(len(data)))
        jac = api.jacrev(arrays_fn(func), argnums=nums if isinstance(inputs, tuple) else 0)(*data)
        return _wrap(jac)

    def hessian(func, inputs):
        """d^2 func / d inputs^2 (for a tuple of inputs, a tuple of tuples: block [i][j] is d/dx_i d/dx_j)."""
        data = _data(inputs)
        nums = tuple(range(len(data))) if isinstance(inputs, tuple) else 0
        return _wrap(api.hessian(arrays_fn(func), argnums=nums)(*data))

    def vjp(func, inputs, v=None):
        data = _data(inputs)
        out, pullback = api.vjp(arrays_fn(func), *data)
        v = np.ones_like(out) if v is None else (v._array if isinstance(v, Tensor) else v)
        grads = pullback(v)
        return _wrap(out), _wrap(grads if isinstance(inputs, tuple) else grads[0])

    def jvp(func, inputs, v=None):
        data = _data(inputs)
        vs = _data(v) if v is not None else tuple(np.ones_like(d) for d in data)
        out, tangent = api.jvp(arrays_fn(func), data, vs)
        return _wrap(out), _wrap(tangent)

    def hvp(func, inputs, v):
        data, vs = _data(inputs), _data(v)
        value = arrays_fn(func)(*data)
        product = api.hvp(arrays_fn(func), data, vs)
        return _wrap(value), _wrap(product if isinstance(inputs, tuple) else product[0])

    return types.SimpleNamespace(jacobian=jacobian, hessian=hessian, vjp=vjp, jvp=jvp, hvp=hvp)


functional = _functional()
