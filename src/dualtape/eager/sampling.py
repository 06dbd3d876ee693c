"""Random tensors with PyTorch's signatures: `dt.Generator` (a stream of random numbers, seeded by
`manual_seed`), the default one `dt.manual_seed` seeds, and the factories drawing from them (`rand`, `randn`,
`randint`, `normal`, `rand_like`, `randn_like`), each taking `generator=`. The numbers come from NumPy's PCG64,
so a seed gives other values than PyTorch's. Values are drawn on the host for every device; while dt.compile
traces, a draw from a generator becomes a program input drawn anew at each call, in the eager order."""

from __future__ import annotations

import numpy as np

from ..avals import ShapedArray
from ..numpy import elementwise as _ew
from . import devices as _device
from . import grad_mode
from .composite import one_node
from .factory_args import DEFAULT_DTYPE, leaf, refuse_out, shape_of
from .lifting import LIFTING
from .tensor import Tensor

_DEFAULT_SEED = 67280421310721  # (PyTorch's default generator starts from this seed too)


class Generator:
    """PyTorch's torch.Generator: a stream of random numbers for the factories' `generator=` argument."""

    def __init__(self, device="cpu"):
        self.device = _device.parse(device)
        self.manual_seed(_DEFAULT_SEED)

    def manual_seed(self, seed) -> "Generator":
        """Restart the stream from seed (an int); returns the generator."""
        self._seed = int(seed) % 2**64
        self._rng = np.random.default_rng(self._seed)
        return self

    def seed(self) -> int:
        """Restart the stream from a fresh nondeterministic seed, and return that seed."""
        self.manual_seed(int(np.random.SeedSequence().entropy) % 2**63)
        return self._seed

    def initial_seed(self) -> int:
        """The seed the stream last started from."""
        return self._seed

    def __repr__(self):
        return f"<dualtape.Generator seed={self._seed} device={self.device}>"


default_generator = Generator()


def manual_seed(seed) -> Generator:
    """Seed the default generator (what the factories draw from without generator=); returns it."""
    return default_generator.manual_seed(seed)


def _drawing(generator) -> Generator:
    if generator is None:
        return default_generator
    if not isinstance(generator, Generator):
        raise TypeError(f"generator must be a dt.Generator, got {type(generator).__name__}")
    return generator


def _floating(name: str, dtype) -> np.dtype:
    dtype = np.dtype(dtype or DEFAULT_DTYPE)
    if dtype.kind != "f" and dtype.name != "bfloat16":
        raise RuntimeError(f"{name}: expected a floating point dtype, got {dtype.name} (draw floats, then convert "
                           f"with .to(dtype))")
    return dtype


def draw(method: str, shape: tuple, dtype, requires_grad, device, generator=None, **args) -> Tensor:
    """A tensor of values drawn now by the generator's NumPy method (with args); while dt.compile traces, an input
    the compiled program draws on each call."""
    stream, dtype = _drawing(generator), np.dtype(dtype)

    def values():
        return getattr(stream._rng, method)(size=shape, **args).astype(dtype, copy=False)  # (the latest seed's)

    device = None if device is None else _device.parse(device)
    if LIFTING.stack and (device is None or device.type == "cpu"):  # (device="cpu" too: drawn anew each call)
        return LIFTING.stack[-1].random(values, ShapedArray(shape, dtype), bool(requires_grad))
    array = values()
    return leaf(array if device is None else _device.move(array, device), requires_grad)


def randn(*sizes, size=None, generator=None, out=None, dtype=None, device=None,
          requires_grad=False) -> Tensor:
    """Values drawn from the standard normal distribution, of the size given (ints, a sequence, or size=)."""
    refuse_out("randn", out)
    dtype = _floating("randn", dtype)
    return draw("standard_normal", shape_of("randn", sizes, size), dtype, requires_grad, device, generator)


def rand(*sizes, size=None, generator=None, out=None, dtype=None, device=None,
          requires_grad=False) -> Tensor:
    """Values drawn uniformly from [0, 1), of the size given (ints, a sequence, or size=)."""
    refuse_out("rand", out)
    dtype = _floating("rand", dtype)
    return draw("random", shape_of("rand", sizes, size), dtype, requires_grad, device, generator)


def randint(*args, size=None, generator=None, out=None, dtype=None, device=None, requires_grad=False) -> Tensor:
    """Integers drawn uniformly from [low, high): randint(high, size) or randint(low, high, size); int64 unless
    dtype is given."""
    refuse_out("randint", out)
    if size is not None:
        args = (*args, size)
    if len(args) not in (2, 3):
        raise TypeError("randint() takes (high, size) or (low, high, size), and size may be given as size=")
    low, high, size = (0, *args) if len(args) == 2 else args
    if high <= low:
        raise RuntimeError(f"random_ expects 'from' to be less than 'to', but got from={low} >= to={high}")
    dtype = np.dtype(dtype or np.int64)
    return draw("integers", shape_of("randint", (size,)), dtype, requires_grad, device, generator, low=low, high=high)


def rand_like(input, *, dtype=None, device=None, requires_grad=False, generator=None) -> Tensor:  # noqa: A002
    """rand of input's shape, dtype and device (unless given)."""
    return rand(input.shape, dtype=dtype or input.dtype, device=device or _like_device(input),
                requires_grad=requires_grad, generator=generator)


def randn_like(input, *, dtype=None, device=None, requires_grad=False, generator=None) -> Tensor:  # noqa: A002
    """randn of input's shape, dtype and device (unless given)."""
    return randn(input.shape, dtype=dtype or input.dtype, device=device or _like_device(input),
                 requires_grad=requires_grad, generator=generator)


def _like_device(t):
    dev = t.device
    return None if dev.type == "cpu" else dev


_sampled = lambda mean, std, values: _ew.where(_ew.full_like(values, True, dtype=np.bool_), values,  # noqa: E731
                                               _ew.add(mean, std))  # (the values; a zero gradient to mean and std)


def normal(mean=0.0, std=1.0, size=None, *, generator=None, out=None, dtype=None, device=None,
           requires_grad=False) -> Tensor:
    """Values drawn from N(mean, std**2), torch.normal's forms: mean and std tensors (broadcast together) or a
    tensor and a float, or two floats and size. As PyTorch's, the draw is not differentiated: mean and std
    get zero gradients (NormalBackward1/2/3)."""
    refuse_out("normal", out)
    tensors = [x for x in (mean, std) if isinstance(x, Tensor)]
    if not tensors:
        if size is None:
            raise TypeError("normal(): with a float mean and std, give the size of the result "
                            "(dt.normal(mean, std, size=(2, 3)))")
        if std < 0:
            raise RuntimeError(f"normal expects std >= 0.0, but found std {std}")
        z = draw("standard_normal", shape_of("normal", (size,)), _floating("normal", dtype), False, device, generator)
        with grad_mode.no_grad():
            result = z * std + mean
        return result.requires_grad_() if requires_grad else result
    if size is not None or dtype is not None or requires_grad:
        raise TypeError("normal(): size=, dtype= and requires_grad= go with a float mean and std; with a tensor "
                        "mean or std the result takes their shape and dtype")
    dtype = np.result_type(*[t.dtype for t in tensors])
    _floating("normal", dtype)
    if isinstance(std, Tensor) and std.numel() and bool((std < 0).any()):
        raise RuntimeError("normal expects all elements of std >= 0.0")
    if not isinstance(std, Tensor) and std < 0:
        raise RuntimeError(f"normal expects std >= 0.0, but found std {std}")
    shape = np.broadcast_shapes(*[np.shape(x) for x in (mean, std) if isinstance(x, Tensor)])
    dev = tensors[0].device
    z = draw("standard_normal", shape, dtype, False, None if dev.type == "cpu" else dev, generator)
    with grad_mode.no_grad():
        values = z * std + mean
    name = "NormalBackward" + ("3" if len(tensors) == 2 else "1" if isinstance(mean, Tensor) else "2")
    return one_node(name, _sampled, [mean, std, values])
