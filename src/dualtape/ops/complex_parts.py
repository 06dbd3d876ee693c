"""Complex numbers' parts, rows of the elementwise family (ops/elementwise.py registers them with its own):
real, imag, conj, and the complex derivative of abs.

dualtape's convention for complex values is JAX's: a VJP is the transpose of the R-linear JVP under the real
pairing <c, t> = Re(sum(c * t)), with no conjugation, so a C-linear (holomorphic) derivative pulls back by the same
factor it pushes forward (every other row's one rule serves both). These four are R-linear but not C-linear: a
JVP t -> a t + b conj(t) pulls back as c -> a c + conj(b c), so each has its own pair of rules:

    real:  t -> Re t              c -> c            imag:  t -> Im t                   c -> -i c
    conj:  t -> conj t            c -> conj c       abs:   t -> Re(conj(u) t), u = z/|z|  c -> c conj(u)

On real operands real and conj are the identity and abs keeps its real rule (no complex op is emitted).
"""

from __future__ import annotations

import numpy as np

from ..avals import aval_of
from .elementwise import abs_p, eq_p, sign_p, unary, where_p
from .rules import batch_elementwise, defjvp, defvjp


def _complex(x) -> bool:
    return aval_of(x).dtype.kind == "c"


def _real_dtype(x, **_):
    """The real dtype of a complex one (complex64 -> float32); a real dtype is kept."""
    dtype = x.dtype
    return np.dtype(dtype.char.lower()) if dtype.kind == "c" else dtype


# (xp.real / xp.imag of a complex array are views of it: not new arrays, or an in-place `c *= a` would write
# into the operand)
real_p = unary("real", "xp.real(x)", "The real part (a real operand itself).", dnp=(), ufunc=None,
               dtype_rule=_real_dtype, new_array=False)
imag_p = unary("imag", "xp.imag(x)", "The imaginary part (zeros for a real operand).", dnp=(), ufunc=None,
               dtype_rule=_real_dtype, new_array=False)
conj_p = unary("conj", "xp.conj(x)", "The complex conjugate (a real operand itself).", dnp=(), ufunc=None,
               torch="Conj")

defjvp(real_p, lambda t, ans, x: real_p(t))
defvjp(real_p, lambda g, ans, x: g, reads="", broadcasting=True)  # (cast back to x's complex dtype)
defjvp(imag_p, lambda t, ans, x: imag_p(t))
defvjp(imag_p, lambda g, ans, x: g * -1j if _complex(x) else None, reads="x", broadcasting=True)
defjvp(conj_p, lambda t, ans, x: conj_p(t))
defvjp(conj_p, lambda g, ans, x: conj_p(g), reads="", broadcasting=True)


def _unit(z, size):
    """conj(z) / |z| (0 where z is 0), from differentiable ops (a complex sign varies: second derivatives see
    it), given |z| (size)."""
    return conj_p(z) / where_p(eq_p(size, 0), 1, size)


def _abs_jvp(t, ans, x):
    return real_p(_unit(x, ans) * t) if _complex(x) else t * sign_p(x)


def _abs_vjp(g, ans, x):
    return g * _unit(x, ans) if _complex(x) else g * sign_p(x)


defjvp(abs_p, _abs_jvp)
defvjp(abs_p, _abs_vjp, reads="ans x", broadcasting=True)
for _prim in (real_p, imag_p, conj_p, abs_p):
    _prim.batch = batch_elementwise(_prim)
