"""The diagonals section of the per-function table: diag (a vector onto the k-th diagonal; a matrix's k-th
diagonal), diagonal and trace (any rank, drawn offsets and axis pairs, negative ones too), diagflat, triu and
tril (batched over leading axes, vectors too, as NumPy) (dualtape/numpy/diagonals.py). PyTorch's diag,
diagonal, diagflat, triu, tril and diagonal(...).sum(-1) are the oracle."""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st

import dualtape.numpy as dnp
from function_case import FnCase
from strategies import ANY, arrays, shapes


def _torch():
    import torch

    return torch


@st.composite
def _one(draw, min_dims, max_dims, plane=False, k=True):
    """((x,), kwargs): x of min_dims..max_dims axes (sides 0..3), an offset k (past the sides too) and, with
    `plane`, two distinct axes (some negative)."""
    shape = draw(shapes(min_dims=min_dims, max_dims=max_dims, max_side=3))
    kwargs = {}
    if k:
        kwargs["k"] = draw(st.integers(-4, 4))
    if plane:
        n = len(shape)
        first, second = draw(st.lists(st.integers(0, n - 1), min_size=2, max_size=2, unique=True))
        kwargs["axis1"] = draw(st.sampled_from([first, first - n]))
        kwargs["axis2"] = draw(st.sampled_from([second, second - n]))
    return (draw(arrays(np.float64, shape, ANY)),), kwargs


def _offset(fn):
    """fn(x, offset=k, ...): NumPy's diagonal and trace name the offset `offset`."""
    return lambda x, k, **kw: fn(x, k, **kw)


def _torch_diagonal(t, k, axis1=0, axis2=1):
    return _torch().diagonal(t, k, axis1, axis2)


SECTION = {
    "diag_of_a_vector": FnCase(dnp.diag, np.diag, _one(1, 1), numpy=np.diag,
                               torch=lambda t, k: _torch().diag(t, k)),
    "diag_of_a_matrix": FnCase(dnp.diag, np.diag, _one(2, 2), numpy=np.diag,
                               torch=lambda t, k: _torch().diag(t, k)),
    "diagflat": FnCase(dnp.diagflat, np.diagflat, _one(0, 3), numpy=np.diagflat,
                       torch=lambda t, k: _torch().diagflat(t, k)),
    "diagonal": FnCase(_offset(dnp.diagonal), _offset(np.diagonal), _one(2, 4, plane=True),
                       numpy=_offset(np.diagonal), torch=_torch_diagonal),
    "trace": FnCase(_offset(dnp.trace), _offset(np.trace), _one(2, 4, plane=True), numpy=_offset(np.trace),
                    torch=lambda t, k, **kw: _torch_diagonal(t, k, **kw).sum(-1)),
    "tril": FnCase(dnp.tril, np.tril, _one(1, 4), numpy=np.tril),
    "triu": FnCase(dnp.triu, np.triu, _one(1, 4), numpy=np.triu),
    "tril_of_matrices": FnCase(dnp.tril, np.tril, _one(2, 4), numpy=np.tril,
                               torch=lambda t, k: _torch().tril(t, k)),
    "triu_of_matrices": FnCase(dnp.triu, np.triu, _one(2, 4), numpy=np.triu,
                               torch=lambda t, k: _torch().triu(t, k)),
}
