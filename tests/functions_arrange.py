"""The arrange section of the per-function table: flips and rotations, roll, rollaxis, repeat, tile, append,
pad in every mode, the split and stack families, atleast_Nd and r_ / c_ (dualtape/numpy/arrange.py, joins.py,
padding.py), over drawn shapes (0-d and empty included where NumPy takes them) and drawn axes (negative ones
too), counts and modes. PyTorch is the oracle where it has the function (flip, rot90, roll, repeat_interleave,
tile, nn.functional.pad's constant / replicate / reflect / circular modes, tensor_split, the stacks)."""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st

import dualtape.numpy as dnp
from function_case import FnCase
from layouts import distinct
from strategies import ANY, arrays, shapes


def _torch():
    import torch

    return torch


@st.composite
def _one(draw, min_dims=0, max_dims=3, min_side=0, max_side=3, value_map=None, **kwargs):
    """((x,), kwargs): x of a drawn shape (mapped by value_map); each kwarg a value, a strategy, or a function
    of (shape, kwargs drawn so far) returning one."""
    shape = draw(shapes(min_dims=min_dims, max_dims=max_dims, min_side=min_side, max_side=max_side))
    x = draw(arrays(np.float64, shape, ANY))
    return (x if value_map is None else value_map(x),), _kwargs(draw, shape, kwargs)


def _kwargs(draw, shape, kwargs) -> dict:
    chosen = {}
    for key, value in kwargs.items():
        value = value(shape, chosen) if callable(value) and not isinstance(value, st.SearchStrategy) else value
        chosen[key] = draw(value) if isinstance(value, st.SearchStrategy) else value
    return chosen


def _axis(shape, chosen=None):
    n = max(len(shape), 1)
    return st.integers(-n, n - 1)


def _axes(shape, chosen=None):
    """None, an int, or a tuple of distinct axes (some negative)."""
    n = len(shape)
    subsets = st.lists(st.integers(0, n - 1), unique=True, max_size=n) if n else st.just([])
    tuples = subsets.flatmap(lambda a: st.tuples(*[st.sampled_from([v, v - n]) for v in a]))
    return st.none() | (st.integers(-n, n - 1) if n else st.none()) | tuples


def _two_axes(shape, chosen=None):
    n = len(shape)
    return st.lists(st.integers(0, n - 1), min_size=2, max_size=2, unique=True).flatmap(
        lambda a: st.tuples(*[st.sampled_from([v, v - n]) for v in a]))


def _all_dims(t, axis):
    return tuple(range(t.ndim)) if axis is None else (axis,) if isinstance(axis, int) else axis


# ---- stacks: several operands whose shapes agree but along the joined axis ----------------------------------
@st.composite
def _stackable(draw, rank, joined, count=2, min_side=1):
    """count arrays (a fixed number, so vmap's two examples line up) of one rank drawn from `rank`, sides equal
    but along axis `joined` (None: all equal; joined(rank) where it depends on the rank)."""
    n = draw(rank)
    joined = joined(n) if callable(joined) else joined
    largest = 3 if n < 3 else 2
    dims = draw(st.lists(st.integers(min_side, largest), min_size=n, max_size=n))
    result = []
    for _ in range(count):
        own = list(dims)
        if joined is not None and n > joined:
            own[joined] = draw(st.integers(min_side, largest))
        result.append(draw(arrays(np.float64, tuple(own), ANY)))
    return tuple(result), {}


def _fixed(shape):
    return arrays(np.float64, shape, ANY).map(lambda x: ((x,), {}))


def _joined(fn):
    return lambda *xs: fn(list(xs))


def _torch_joined(name):
    return lambda *xs: getattr(_torch(), name)(list(xs))


# ---- pad ---------------------------------------------------------------------------------------------
PAD_DICTS = tuple(int(v) for v in np.__version__.split(".")[:2]) >= (2, 3)  # (NumPy's reference takes dicts from 2.3)
def _pad_widths(shape, chosen, most=2):
    """pad_width in each of NumPy's forms: one int, (before, after), one pair per axis, {axis: width}."""
    n = len(shape)
    width = st.integers(0, most)
    pair = st.tuples(width, width)
    forms = [width, pair, st.tuples(width)]
    if n:  # (a 0-d array's per-axis form is empty, which NumPy refuses as not integral)
        forms.append(st.tuples(*[pair] * n))
    if n and PAD_DICTS:
        forms.append(st.dictionaries(st.integers(0, n - 1), width | pair, max_size=n))
    return st.one_of(forms)


def _pad(modes, min_side=1, max_dims=3, value_map=None, **kwargs) -> FnCase:
    """dnp.pad in a mode drawn from modes, with pad_width in each of NumPy's forms and kwargs drawn."""
    return FnCase(dnp.pad, np.pad, _one(min_side=min_side, max_dims=max_dims, value_map=value_map,
                                        pad_width=_pad_widths, mode=st.sampled_from(modes), **kwargs), numpy=np.pad)


_TORCH_MODES = {"edge": "replicate", "reflect": "reflect", "wrap": "circular"}


def _torch_pad(t, pad_width, mode):
    """PyTorch's F.pad of the last two axes (its pad list runs from the last axis backwards)."""
    flat = [w for pair in reversed(pad_width[-2:]) for w in pair]
    return _torch().nn.functional.pad(t, flat, mode=_TORCH_MODES[mode])


@st.composite
def _last_axes_padded(draw):
    """((x,), {pad_width, mode}) with x of shape (2, 3, 4) or (1, 2, 3, 4) and widths on its last two axes only
    (below the side for 'reflect', at most the side for the others, as PyTorch requires)."""
    shape = draw(st.sampled_from([(2, 3, 4), (1, 2, 3, 4)]))
    mode = draw(st.sampled_from(sorted(_TORCH_MODES)))
    most = [d - (mode == "reflect") for d in shape[-2:]]
    pairs = [(0, 0)] * (len(shape) - 2) + [(draw(st.integers(0, m)), draw(st.integers(0, m))) for m in most]
    return (draw(arrays(np.float64, shape, ANY)),), {"pad_width": tuple(pairs), "mode": mode}


def _torch_constant_pad(t, pad_width, constant_values):
    flat = [w for pair in reversed(pad_width) for w in pair]
    return _torch().nn.functional.pad(t, flat, mode="constant", value=constant_values)


@st.composite
def _padded_with_traced_value(draw):
    """((x, value), {pad_width}): the constant a traced 0-d operand, so its derivative is checked too."""
    (x,), kwargs = draw(_one(min_dims=1, pad_width=_pad_widths))
    return (x, draw(arrays(np.float64, (), ANY))), kwargs


# ---- splits ------------------------------------------------------------------------------------------
def _sections(shape, chosen):
    """A number of sections (dividing the axis exactly: split's rule) or a list of cut indices."""
    size = shape[chosen["axis"]]
    divisors = [k for k in range(1, size + 1) if size % k == 0] or [1, 2]
    cuts = st.lists(st.integers(-size - 1, size + 1), max_size=3).map(sorted)
    return st.sampled_from(divisors) | cuts


def _sections_any(shape, chosen):
    return st.integers(1, 5) | st.lists(st.integers(-5, 6), max_size=3)


def _torch_split(t, indices_or_sections, axis=0):
    return _torch().tensor_split(t, indices_or_sections, dim=axis)


def _torch_counts(t, repeats, axis=None):
    counts = repeats if isinstance(repeats, int) else _torch().tensor(repeats, dtype=_torch().int64)
    return _torch().repeat_interleave(t, counts, dim=axis)


def _counts(shape, chosen):
    size = shape[chosen["axis"]] if chosen["axis"] is not None else int(np.prod(shape))
    return st.lists(st.integers(0, 3), min_size=size, max_size=size)


def _rollaxis_start(shape, chosen):
    n = len(shape)
    return st.integers(-n, n)


def _append_operands():
    @st.composite
    def draw_pair(draw):
        (x,), kwargs = draw(_one(min_dims=1, axis=st.none() | st.integers(-1, 0)))
        other = list(x.shape)
        if kwargs["axis"] is not None:
            other[kwargs["axis"]] = draw(st.integers(0, 3))
        return (x, draw(arrays(np.float64, tuple(other), ANY))), kwargs
    return draw_pair()


def _torch_append(a, b, axis=None):
    torch = _torch()
    return torch.cat((a.reshape(-1), b.reshape(-1))) if axis is None else torch.cat((a, b), dim=axis)


SECTION = {
    # ---- flips, rotations, rolls ----
    "flip": FnCase(dnp.flip, np.flip, _one(axis=_axes), numpy=np.flip,
                   torch=lambda t, axis: t.flip(_all_dims(t, axis))),
    "flipud": FnCase(dnp.flipud, np.flipud, _one(min_dims=1), numpy=np.flipud, torch=lambda t: t.flipud()),
    "fliplr": FnCase(dnp.fliplr, np.fliplr, _one(min_dims=2), numpy=np.fliplr, torch=lambda t: t.fliplr()),
    "rot90": FnCase(dnp.rot90, np.rot90, _one(min_dims=2, k=st.integers(-3, 5), axes=_two_axes), numpy=np.rot90,
                    torch=lambda t, k, axes: _torch().rot90(t, k, axes)),
    "roll": FnCase(dnp.roll, np.roll, _one(
        shift=lambda s, c: st.integers(-7, 7), axis=lambda s, c: st.none() | (_axis(s) if s else st.none())),
        numpy=np.roll, torch=lambda t, shift, axis: _torch().roll(t, shift, axis)),
    "roll_tuples": FnCase(dnp.roll, np.roll, _one(
        min_dims=1, axis=lambda s, c: _two_axes(s) if len(s) > 1 else st.just((0, -1)),
        shift=lambda s, c: st.tuples(st.integers(-5, 5), st.integers(-5, 5))), numpy=np.roll),
    "rollaxis": FnCase(dnp.rollaxis, np.rollaxis, _one(min_dims=1, axis=_axis, start=_rollaxis_start),
                       numpy=np.rollaxis),
    # ---- repeats ----
    "repeat": FnCase(dnp.repeat, np.repeat, _one(repeats=st.integers(0, 3), axis=lambda s, c: st.none() | (
        _axis(s) if s else st.none())), numpy=np.repeat, torch=_torch_counts),
    "repeat_counts": FnCase(dnp.repeat, np.repeat, _one(min_dims=1, axis=lambda s, c: st.none() | _axis(s),
                                                        repeats=_counts), numpy=np.repeat, torch=_torch_counts),
    "tile": FnCase(dnp.tile, np.tile, _one(reps=st.lists(st.integers(0, 2), min_size=1, max_size=4).map(tuple)),
                   numpy=np.tile, torch=lambda t, reps: t.tile(reps)),
    "tile_int": FnCase(dnp.tile, np.tile, _one(reps=st.integers(0, 3)), numpy=np.tile),
    "append": FnCase(dnp.append, np.append, _append_operands(), numpy=np.append, torch=_torch_append),
    # ---- pad ----
    "pad_constant": _pad(["constant"], min_side=0, constant_values=st.floats(-3, 3) | st.tuples(
        st.floats(-3, 3), st.floats(-3, 3))),
    "pad_constant_traced_value": FnCase(
        lambda x, value, pad_width: dnp.pad(x, pad_width, constant_values=value),
        lambda x, value, pad_width: np.pad(x, pad_width, constant_values=value), _padded_with_traced_value(),
        numpy=lambda x, value, pad_width: np.pad(x, pad_width, constant_values=value)),
    "pad_constant_torch": FnCase(
        lambda x, pad_width, constant_values: dnp.pad(x, pad_width, constant_values=constant_values),
        lambda x, pad_width, constant_values: np.pad(x, pad_width, constant_values=constant_values),
        _one(min_dims=1, pad_width=lambda s, c: st.tuples(*[st.tuples(st.integers(0, 2), st.integers(0, 2))] * len(s)),
             constant_values=st.floats(-3, 3)), torch=_torch_constant_pad),
    "pad_copying": _pad(["edge", "wrap", "reflect", "symmetric"]),
    "pad_odd": _pad(["reflect", "symmetric"], max_dims=2, reflect_type="odd"),
    "pad_linear_ramp": _pad(["linear_ramp"], max_dims=2,
                            end_values=st.floats(-3, 3) | st.tuples(st.floats(-3, 3), st.floats(-3, 3))),
    "pad_extremes": _pad(["maximum", "minimum"], max_dims=2, value_map=distinct,
                         stat_length=st.none() | st.integers(1, 3)),
    "pad_mean": _pad(["mean"], stat_length=st.none() | st.tuples(st.integers(1, 3), st.integers(1, 3))),
    "pad_torch": FnCase(dnp.pad, np.pad, _last_axes_padded(), numpy=np.pad, torch=_torch_pad),
    # ---- splits ----
    "split": FnCase(dnp.split, np.split, _one(min_dims=1, axis=_axis, indices_or_sections=_sections),
                    numpy=np.split, torch=_torch_split),
    "array_split": FnCase(dnp.array_split, np.array_split, _one(
        min_dims=1, axis=_axis, indices_or_sections=_sections_any), numpy=np.array_split, torch=_torch_split),
    "vsplit": FnCase(dnp.vsplit, np.vsplit, _one(min_dims=2, axis=0, indices_or_sections=_sections).map(
        lambda d: (d[0], {"indices_or_sections": d[1]["indices_or_sections"]})), numpy=np.vsplit,
        torch=lambda t, indices_or_sections: _torch().vsplit(t, indices_or_sections)),
    "hsplit": FnCase(dnp.hsplit, np.hsplit, _one(min_dims=1, axis=lambda s, c: st.just(1 if len(s) > 1 else 0),
                                                 indices_or_sections=_sections).map(
        lambda d: (d[0], {"indices_or_sections": d[1]["indices_or_sections"]})), numpy=np.hsplit,
        torch=lambda t, indices_or_sections: _torch().hsplit(t, indices_or_sections)),
    "dsplit": FnCase(dnp.dsplit, np.dsplit, _one(min_dims=3, axis=2, indices_or_sections=_sections).map(
        lambda d: (d[0], {"indices_or_sections": d[1]["indices_or_sections"]})), numpy=np.dsplit,
        torch=lambda t, indices_or_sections: _torch().dsplit(t, indices_or_sections)),
    # ---- stacks (each operand traced; plain arrays and lists mixed in below) ----
    "vstack": FnCase(_joined(dnp.vstack), _joined(np.vstack),
                     _stackable(st.integers(0, 3), lambda n: 0 if n > 1 else None),
                     numpy=_joined(np.vstack), torch=_torch_joined("vstack")),
    "hstack": FnCase(_joined(dnp.hstack), _joined(np.hstack), _stackable(st.integers(1, 3), 1),
                     numpy=_joined(np.hstack), torch=_torch_joined("hstack")),
    "hstack_vectors": FnCase(_joined(dnp.hstack), _joined(np.hstack), _stackable(st.integers(0, 1), 0),
                             numpy=_joined(np.hstack), torch=_torch_joined("hstack")),
    "dstack": FnCase(_joined(dnp.dstack), _joined(np.dstack), _stackable(st.integers(0, 4), 2),
                     numpy=_joined(np.dstack), torch=_torch_joined("dstack")),
    "column_stack": FnCase(_joined(dnp.column_stack), _joined(np.column_stack), _stackable(st.integers(0, 3), 1),
                           numpy=_joined(np.column_stack), torch=_torch_joined("column_stack")),
    "vstack_mixed": FnCase(lambda x: dnp.vstack([x, np.ones(3), [1.0, 2.0, 3.0]]),
                           lambda x: np.vstack([x, np.ones(3), [1.0, 2.0, 3.0]]), _fixed((2, 3)),
                           numpy=lambda x: np.vstack([x, np.ones(3), [1.0, 2.0, 3.0]])),
    "append_mixed": FnCase(lambda x: dnp.append([0.5, 1.5], x), lambda x: np.append([0.5, 1.5], x), _fixed((2, 2)),
                           numpy=lambda x: np.append([0.5, 1.5], x)),
    "atleast_2d": FnCase(lambda *xs: dnp.atleast_2d(*xs), lambda *xs: np.atleast_2d(*xs), _stackable(
        st.integers(0, 3), None), numpy=lambda *xs: np.atleast_2d(*xs), torch=lambda *ts: _torch().atleast_2d(ts)),
    "atleast_3d": FnCase(lambda *xs: dnp.atleast_3d(*xs), lambda *xs: np.atleast_3d(*xs), _stackable(
        st.integers(0, 4), None), numpy=lambda *xs: np.atleast_3d(*xs), torch=lambda *ts: _torch().atleast_3d(ts)),
    "atleast_1d": FnCase(lambda *xs: dnp.atleast_1d(*xs), lambda *xs: np.atleast_1d(*xs), _stackable(
        st.integers(0, 2), None, 1), numpy=lambda *xs: np.atleast_1d(*xs), torch=lambda *ts: _torch().atleast_1d(ts)),
    "r_": FnCase(lambda x, y: dnp.r_[x, 0:3, 5.0, y], lambda x, y: np.r_[x, 0:3, 5.0, y],
                 _stackable(st.just(1), 0, 2)),
    "r_directive": FnCase(lambda x, y: dnp.r_["0,2,0", x, y], lambda x, y: np.r_["0,2,0", x, y],
                          _stackable(st.just(1), None, 2)),
    "c_": FnCase(lambda x, y: dnp.c_[x, y, 0:1:1j * x.shape[0]], lambda x, y: np.c_[x, y, 0:1:1j * x.shape[0]],
                 _stackable(st.integers(1, 2), None, 2)),
}
