"""The one table of per-primitive cases that every primitive test reads: `CASES[name]` is a `Case` with a
dualtape function reaching the primitive (through `dnp`, a method, or `operator`, the Python-operator
spelling), the same maths in plain NumPy, and what each suite draws from:

- `values` (tests/value_cases.py): NumPy agreement over every dtype, broadcasting, Python scalars, edges;
- `layout` (tests/layouts.py), `domains`, `post`: derivative and vmap layouts whose values keep the function
  smooth around the drawn point (away from kinks, ties, poles and domain edges), so finite differences are
  exact; None for a primitive that is not differentiable, which has fixed `examples` over several dtypes
  for the emitted-code checks instead.

The table is built from sections (UNARY, BINARY, BITWISE, OTHER_ELEMENTWISE, REDUCTIONS, SHAPES,
CONTRACTIONS, SUB_PROGRAMS) so each suite can take its part. `draw_args(draw, case, shapes, dtypes)` draws an
entry's derivative operands: each from its own `Domain`, then through its own `post` map (elementwise or
whole-array, one operand at a time), so a batch of examples can be drawn operand by operand for vmap.
"""

from __future__ import annotations

import numpy as np

import dualtape as dt
import dualtape.numpy as dnp
import value_cases as vc
from case import Case, draw_args, operand  # noqa: F401  (the suites import them from here)
from cases_complex import COMPLEX_PARTS
from cases_cumulative import CUMULATIVE
from cases_fft import FFT
from cases_linalg import LINALG
from cases_neural import NEURAL
from cases_spectral import SPECTRAL
from dualtape.numpy.shapes import contiguous
from dualtape.ops.linalg import addmm_p
from layouts import (
    F32,
    F64,
    above_half,
    addmm_layout,
    below_half,
    broadcast_to_layout,
    diagonal_layout,
    concatenate_layout,
    convert_layout,
    distinct,
    einsum_layout,
    expand_dims_layout,
    getitem_layout,
    index_add_dt,
    index_add_layout,
    index_add_np,
    index_update_layout,
    index_update_np,
    integer_pow_layout,
    matmul_layout,
    odd_halves,
    one,
    powers_of_two,  # noqa: F401 (the batching suite's einsum specs, read from here)
    reduction_layout,
    reshape_layout,
    scan_layout,
    squeeze_layout,
    transpose_layout,
    two,
    where_layout,
)
from strategies import (
    ABOVE_MINUS_ONE,
    ALL,
    ANY,
    BOOL,
    EXPONENT,
    INTS,
    NONFINITE,
    NONNEGATIVE,
    NONZERO,
    NUMERIC,
    NUMPY_POWER,
    POSITIVE,
    SMALL,
    UNIT,
    WIDE,
    Domain,
)

I32, I64, B = np.dtype(np.int32), np.dtype(np.int64), np.dtype(np.bool_)
TAN = Domain(-1.3, 1.3)  # clear of the poles at ±pi/2
INNER_UNIT = Domain(-0.9, 0.9)  # arcsin / arccos: clear of the infinite slopes at ±1
LOG1P = Domain(-0.75, 10.0)
MODERATE = Domain(-3.0, 3.0)
NO_BOOL_SIGN = NUMERIC  # NumPy has no negative / sign / subtract loops for booleans


def draw_case(data, name: str):
    """(case, shapes, params, dtypes, args) drawn for one primitive's derivative case (hypothesis `data`).
    custom_vjp_call's rule returns (g, g), so its two operands get one shape."""
    case = CASES[name]
    shape_list, params, dtypes = data.draw(case.layout, label="layout")
    args = draw_args(data.draw, case, shape_list, dtypes)
    if name == "custom_vjp_call":
        args = (args[0], np.full_like(args[0], 0.5))
    return case, shape_list, params, dtypes, args


# ---- fixed examples for the primitives without a layout ----------------------------------------------
def example_array(dtype, shape=(2, 3)):
    values = np.linspace(-2.5, 2.5, int(np.prod(shape))).reshape(shape)
    return (values > 0) if dtype == B else values.astype(dtype)


def _pair(fn, dtypes):
    return fn, [(example_array(d), example_array(d)[::-1]) for d in dtypes]


def _one(fn, dtypes):
    return fn, [(example_array(d),) for d in dtypes]


# ---- entry makers ------------------------------------------------------------------------------------
def unary(fn, ref, domain=ANY, post=None, *, values=ANY, dtypes=ALL, operator=None, examples=None, **tol):
    """An elementwise unary entry; `examples` instead of a derivative layout for one not differentiable."""
    return Case(fn, ref, None if examples else one(), (domain,), (post,), operator=operator,
                values=vc.unary_values(fn, ref, values, dtypes), value_domains=(values,), dtypes=dtypes,
                examples=examples, **tol)


def binary(fn, ref, dx=ANY, dy=ANY, px=None, py=None, *, values=(ANY, ANY), dtypes=ALL, operator=None,
           scalars=(bool, int, float), examples=None, **tol):
    """An elementwise binary entry; 0-d operands of its NumPy-agreement draws may be Python `scalars`."""
    return Case(fn, ref, None if examples else two(), (dx, dy), (px, py), operator=operator,
                values=vc.binary_values(fn, ref, *values, dtypes, scalars), value_domains=values, dtypes=dtypes,
                examples=examples, **tol)


def _pow_np(x, k):
    with np.errstate(divide="ignore"):
        return np.power(x, float(k))


_GAUSS_T, _GAUSS_W = np.polynomial.legendre.leggauss(64)


def _erf_np(x):
    """erf by Gauss-Legendre quadrature of 2/sqrt(pi) e^(-t^2) over [0, x] (independent of math.erf: within
    1e-14 on [-10, 10]), in the operand's floating dtype as a NumPy ufunc gives it (float64 for integers)."""
    x = np.asarray(x)
    xs = x.astype(np.float64)[..., None]
    t = xs / 2 * (_GAUSS_T + 1)
    value = (xs / 2 * (_GAUSS_W * np.exp(-t * t))).sum(-1) * (2 / np.sqrt(np.pi))
    return value.astype(x.dtype if x.dtype.kind == "f" else np.float64)[()]


# ---- sub-program primitives, through the public decorators ------------------------------------------
def _body(x, y):
    return dnp.sin(x) * y + dnp.exp(0.5 * y)


def _body_np(x, y):
    return np.sin(x) * y + np.exp(0.5 * y)


@dt.custom_jvp
def _custom_jvp_body(x, y):
    return _body(x, y)


@_custom_jvp_body.defjvp
def _custom_jvp_rule(primals, tangents):
    (x, y), (tx, ty) = primals, tangents
    return _body(x, y), dnp.cos(x) * y * tx + (dnp.sin(x) + 0.5 * dnp.exp(0.5 * y)) * ty


@dt.custom_vjp
def _custom_vjp_body(x, y):
    return _body(x, y)


_custom_vjp_body.defvjp(lambda x, y: (_body(x, y), (x, y)), lambda res, g: (g, g))  # forward mode ignores it


# ---- control flow, through the public functions -----------------------------------------------------
def _branch_pred(x):
    return dnp.sum(dnp.floor(x)) > -1  # piecewise constant: x is drawn in Z + 1/2, clear of its jumps


_cond = dt.jit(lambda x, y: dt.cond(_branch_pred(x), lambda a, b: dnp.sin(a) * b,
                                    lambda a, b: a * dnp.exp(0.5 * b), x, y))  # jit stages the traced predicate


def _cond_np(x, y):
    return np.sin(x) * y if np.sum(np.floor(x)) > -1 else x * np.exp(0.5 * y)


def _while_body(state, sin=dnp.sin):
    i, v = state
    return i + 1, sin(v) * 1.1 + v * 0.5


def _while(x):
    return dt.while_loop(lambda s: s[0] < 3, _while_body, (0, x))[1]


def _while_np(x):
    state = (0, x)
    while state[0] < 3:
        state = _while_body(state, np.sin)
    return state[1]


def _scan_step(c, a, cos=dnp.cos):
    return c * cos(a) + a, c * a


def _scan(c, xs):
    carry, ys = dt.scan(_scan_step, c, xs)
    return carry + ys[-1]


def _scan_np(c, xs):
    ys = []
    for a in xs:
        c, y = _scan_step(c, a, np.cos)
        ys.append(y)
    return c + ys[-1]


# ---- the table ---------------------------------------------------------------------------------------
from functions_ufuncs import (  # noqa: E402  (the special-function rows' NumPy references and order draws)
    digamma_reference,
    erfc_reference,
    gammaln_reference,
    polygamma_layout,
    polygamma_reference,
    polygamma_values,
)

UNARY: dict[str, Case] = {
    "neg": unary(dnp.negative, np.negative, dtypes=NO_BOOL_SIGN, operator=lambda x: -x),
    "sin": unary(dnp.sin, np.sin),
    "cos": unary(dnp.cos, np.cos),
    "tan": unary(dnp.tan, np.tan, TAN, values=SMALL),
    "arcsin": unary(dnp.arcsin, np.arcsin, INNER_UNIT, values=UNIT),
    "arccos": unary(dnp.arccos, np.arccos, INNER_UNIT, values=UNIT),
    "arctan": unary(dnp.arctan, np.arctan),
    "sinh": unary(dnp.sinh, np.sinh),
    "cosh": unary(dnp.cosh, np.cosh),
    "tanh": unary(dnp.tanh, np.tanh, MODERATE),
    "arcsinh": unary(dnp.arcsinh, np.arcsinh, values=WIDE),
    "arccosh": unary(dnp.arccosh, np.arccosh, Domain(1.25, 10.0), values=Domain(1.0, 100.0)),
    "arctanh": unary(dnp.arctanh, np.arctanh, INNER_UNIT, values=UNIT),
    "cbrt": unary(dnp.cbrt, np.cbrt, NONZERO, values=WIDE),
    "fabs": unary(dnp.fabs, np.fabs, NONZERO),
    "sinc": unary(dnp.sinc, np.sinc),  # (x near 0 is drawn too: the slope's series there)
    "deg2rad": unary(dnp.deg2rad, np.deg2rad, values=WIDE),
    "rad2deg": unary(dnp.rad2deg, np.rad2deg),
    "erfc": unary(dnp.special.erfc, erfc_reference, MODERATE, values=Domain(-10.0, 27.0), dtypes=NUMERIC),
    "gammaln": unary(dnp.special.gammaln, gammaln_reference, POSITIVE, values=POSITIVE, dtypes=NUMERIC),
    "digamma": unary(dnp.special.digamma, digamma_reference, POSITIVE, values=POSITIVE, dtypes=NUMERIC),
    "polygamma": Case(lambda x, n: dnp.special.polygamma(n, x), lambda x, n: polygamma_reference(n, x),
                      polygamma_layout(), (POSITIVE,), values=polygamma_values(NUMERIC), value_domains=(POSITIVE,),
                      dtypes=NUMERIC),
    "exp": unary(dnp.exp, np.exp),
    "exp2": unary(dnp.exp2, np.exp2),
    "expm1": unary(dnp.expm1, np.expm1),
    "log": unary(dnp.log, np.log, POSITIVE, values=POSITIVE, dtypes=NUMERIC),
    "log2": unary(dnp.log2, np.log2, POSITIVE, values=POSITIVE, dtypes=NUMERIC),
    "log10": unary(dnp.log10, np.log10, POSITIVE, values=POSITIVE, dtypes=NUMERIC),
    "log1p": unary(dnp.log1p, np.log1p, LOG1P, values=ABOVE_MINUS_ONE, dtypes=NUMERIC),
    "sqrt": unary(dnp.sqrt, np.sqrt, POSITIVE, values=NONNEGATIVE),
    "erf": unary(dnp.erf, _erf_np, MODERATE, dtypes=NUMERIC),
    "sigmoid": unary(dnp.sigmoid, lambda x: 1 / (1 + np.exp(-x)), values=WIDE, dtypes=NUMERIC),
    "abs": unary(dnp.abs, np.abs, NONZERO, operator=abs),
    "relu": unary(dnp.relu, lambda x: np.maximum(x, 0), NONZERO, dtypes=NUMERIC),
    "sign": unary(dnp.sign, np.sign, dtypes=NO_BOOL_SIGN, examples=_one(dnp.sign, [F32, F64, I32])),
    "floor": unary(dnp.floor, np.floor, examples=_one(dnp.floor, [F32, F64, I64])),
    "ceil": unary(dnp.ceil, np.ceil, examples=_one(dnp.ceil, [F32, I32])),
    "round": unary(dnp.round, np.round, examples=_one(dnp.round, [F32, F64])),
    "logical_not": unary(dnp.logical_not, np.logical_not, examples=_one(dnp.logical_not, [B, F32])),
    "isfinite": unary(dnp.isfinite, np.isfinite, values=NONFINITE, examples=_one(dnp.isfinite, [F32, I32])),
    "stop_gradient": unary(dt.stop_gradient, lambda x: x, examples=_one(dt.stop_gradient, [F32])),
}

BINARY: dict[str, Case] = {  # (a Python int exponent makes integer_pow, so pow's scalar operands are floats)
    "add": binary(dnp.add, np.add, operator=lambda x, y: x + y),
    "sub": binary(dnp.subtract, np.subtract, dtypes=NUMERIC, operator=lambda x, y: x - y),
    "mul": binary(dnp.multiply, np.multiply, operator=lambda x, y: x * y),
    "div": binary(dnp.divide, np.divide, dy=NONZERO, values=(ANY, NONZERO), dtypes=NUMERIC,
                  operator=lambda x, y: x / y),
    "pow": binary(dnp.power, NUMPY_POWER, POSITIVE, EXPONENT, values=(POSITIVE, EXPONENT), dtypes=NUMERIC,
                  scalars=(float,), operator=lambda x, y: x ** y),
    "maximum": binary(dnp.maximum, np.maximum, px=below_half, py=above_half),
    "minimum": binary(dnp.minimum, np.minimum, px=above_half, py=below_half),
    "arctan2": binary(dnp.arctan2, np.arctan2, NONZERO, ANY, dtypes=NUMERIC),
    "hypot": binary(dnp.hypot, np.hypot, NONZERO, NONZERO),
    "logaddexp": binary(dnp.logaddexp, np.logaddexp, values=(WIDE, WIDE)),
    "logaddexp2": binary(dnp.logaddexp2, np.logaddexp2),
    "fmax": binary(dnp.fmax, np.fmax, px=below_half, py=above_half, values=(NONFINITE, NONFINITE)),
    "fmin": binary(dnp.fmin, np.fmin, px=above_half, py=below_half, values=(NONFINITE, NONFINITE)),
    "copysign": binary(dnp.copysign, np.copysign, NONZERO, NONZERO, values=(NONFINITE, NONFINITE)),
    "heaviside": binary(dnp.heaviside, np.heaviside, values=(SMALL, SMALL),
                        examples=_pair(dnp.heaviside, [F64, F32])),
    "mod": binary(dnp.mod, np.mod, ANY, NONZERO, odd_halves, powers_of_two, values=(ANY, NONZERO), dtypes=NUMERIC,
                  operator=lambda x, y: x % y),
    "floor_divide": binary(dnp.floor_divide, np.floor_divide, values=(ANY, NONZERO), dtypes=NUMERIC,
                           operator=lambda x, y: x // y, examples=_pair(lambda x, y: x // (y + 10), [F64, I32])),
    "eq": binary(dnp.equal, np.equal, values=(SMALL, SMALL), operator=lambda x, y: x == y,
                 examples=_pair(lambda x, y: x == y, [F32, I64, B])),
    "ne": binary(dnp.not_equal, np.not_equal, values=(SMALL, SMALL), operator=lambda x, y: x != y,
                 examples=_pair(lambda x, y: x != y, [F32, B])),
    "lt": binary(dnp.less, np.less, values=(SMALL, SMALL), operator=lambda x, y: x < y,
                 examples=_pair(lambda x, y: x < y, [F64, I32])),
    "le": binary(dnp.less_equal, np.less_equal, values=(SMALL, SMALL), operator=lambda x, y: x <= y,
                 examples=_pair(lambda x, y: x <= y, [F32])),
    "gt": binary(dnp.greater, np.greater, values=(SMALL, SMALL), operator=lambda x, y: x > y,
                 examples=_pair(lambda x, y: x > y, [I64])),
    "ge": binary(dnp.greater_equal, np.greater_equal, values=(SMALL, SMALL), operator=lambda x, y: x >= y,
                 examples=_pair(lambda x, y: x >= y, [F64])),
    "logical_and": binary(dnp.logical_and, np.logical_and, values=(SMALL, SMALL),
                          examples=_pair(dnp.logical_and, [B, F32])),
    "logical_or": binary(dnp.logical_or, np.logical_or, values=(SMALL, SMALL), examples=_pair(dnp.logical_or, [B])),
    "logical_xor": binary(dnp.logical_xor, np.logical_xor, values=(SMALL, SMALL),
                          examples=_pair(dnp.logical_xor, [B, I32])),
}

BITWISE: dict[str, Case] = {  # integers and booleans only (NumPy has no bitwise loops for floats)
    "bitwise_and": binary(dnp.bitwise_and, np.bitwise_and, dtypes=INTS + BOOL, scalars=(bool, int),
                          examples=_pair(dnp.bitwise_and, [I64, B])),
    "bitwise_or": binary(dnp.bitwise_or, np.bitwise_or, dtypes=INTS + BOOL, scalars=(bool, int),
                         examples=_pair(lambda x, y: x | y, [I32])),
    "bitwise_xor": binary(dnp.bitwise_xor, np.bitwise_xor, dtypes=INTS + BOOL, scalars=(bool, int),
                          examples=_pair(lambda x, y: x ^ y, [I64])),
    "invert": unary(dnp.invert, np.invert, dtypes=INTS + BOOL, examples=_one(lambda x: ~x, [I32])),
}

OTHER_ELEMENTWISE: dict[str, Case] = {
    "integer_pow": Case(lambda x, k: x ** k, _pow_np, integer_pow_layout(), (NONZERO,),
                        values=vc.integer_pow_values()),
    "where": Case(lambda x, y, c: dnp.where(c, x, y), lambda x, y, c: np.where(c, x, y), where_layout(),
                  values=vc.where_values()),
    "convert_element_type": Case(lambda x, dtype: dnp.astype(x, dtype), lambda x, dtype: x.astype(dtype),
                                 convert_layout(), rtol=1e-5, atol=1e-5, h=1.0,  # linear: a wide step is exact
                                 values=vc.convert_values()),
    "full": Case(dnp.full_like, np.full_like, values=vc.full_values()),  # no operands: see test_portable
}

REDUCTIONS: dict[str, Case] = {
    "reduce_sum": Case(lambda x, axis, keepdims: dnp.sum(x, axis, keepdims=keepdims),
                       lambda x, axis, keepdims: np.sum(x, axis, keepdims=keepdims), reduction_layout(),
                       values=vc.reduction_values(dnp.sum, np.sum, False)),
    "reduce_prod": Case(lambda x, axis, keepdims: x.prod(axis, keepdims=keepdims),
                        lambda x, axis, keepdims: np.prod(x, axis, keepdims=keepdims), reduction_layout(),
                        (Domain(-2.0, 2.0, away=0.5),), values=vc.reduction_values(dnp.prod, np.prod, False)),
    "reduce_max": Case(lambda x, axis, keepdims: dnp.max(x, axis, keepdims=keepdims),
                       lambda x, axis, keepdims: np.max(x, axis, keepdims=keepdims), reduction_layout(min_side=1),
                       post=(distinct,), values=vc.reduction_values(dnp.max, np.max, True)),
    "reduce_min": Case(lambda x, axis, keepdims: dnp.min(x, axis, keepdims=keepdims),
                       lambda x, axis, keepdims: np.min(x, axis, keepdims=keepdims), reduction_layout(min_side=1),
                       post=(distinct,), values=vc.reduction_values(dnp.min, np.min, True)),
    "argmax": Case(dnp.argmax, np.argmax, values=vc.index_reduction_values(dnp.argmax, np.argmax),
                   examples=_one(lambda x: dnp.argmax(x, axis=1, keepdims=True), [F32, I64])),
    "argmin": Case(dnp.argmin, np.argmin, values=vc.index_reduction_values(dnp.argmin, np.argmin),
                   examples=_one(lambda x: dnp.argmin(x, axis=0), [F64, B])),
}

SHAPES: dict[str, Case] = {
    "reshape": Case(lambda x, shape: x.reshape(shape), lambda x, shape: np.reshape(x, shape), reshape_layout(),
                    values=vc.reshape_values()),
    "contiguous": Case(lambda x: contiguous(dnp.transpose(x)), lambda x: np.asarray(x.T, order="C"), one(),
                       values=vc.contiguous_values()),
    "transpose": Case(lambda x, axes: dnp.transpose(x, axes), lambda x, axes: np.transpose(x, axes),
                      transpose_layout(), values=vc.transpose_values()),
    "diagonal": Case(lambda x, offset, axis1, axis2: dnp.diagonal(x, offset, axis1, axis2),
                     lambda x, offset, axis1, axis2: np.diagonal(x, offset, axis1, axis2), diagonal_layout(),
                     values=vc.diagonal_values()),
    "broadcast_to": Case(lambda x, shape: dnp.broadcast_to(x, shape), lambda x, shape: np.broadcast_to(x, shape),
                         broadcast_to_layout(), values=vc.broadcast_to_values()),
    "squeeze": Case(lambda x, axis: dnp.squeeze(x, axis), lambda x, axis: np.squeeze(x, axis), squeeze_layout(),
                    values=vc.squeeze_values()),
    "expand_dims": Case(lambda x, axis: dnp.expand_dims(x, axis), lambda x, axis: np.expand_dims(x, axis),
                        expand_dims_layout(), values=vc.expand_dims_values()),
    "concatenate": Case(lambda *xs, axis: dnp.concatenate(xs, axis), lambda *xs, axis: np.concatenate(xs, axis),
                        concatenate_layout(), values=vc.concatenate_values()),
    "getitem": Case(lambda x, index: x[index], lambda x, index: x[index], getitem_layout(),
                    values=vc.getitem_values()),
    "index_add": Case(index_add_dt, index_add_np, index_add_layout(), values=vc.index_add_values()),
    "index_update": Case(lambda x, v, index: dnp.index_update(x, index, v), index_update_np, index_update_layout(),
                         values=vc.index_update_values()),
}

CONTRACTIONS: dict[str, Case] = {
    "matmul": Case(dnp.matmul, np.matmul, matmul_layout(), operator=lambda x, y: x @ y, values=vc.matmul_values()),
    "einsum": Case(lambda *xs, spec: dnp.einsum(spec, *xs), lambda *xs, spec: np.einsum(spec, *xs), einsum_layout(),
                   values=vc.einsum_values()),
    "addmm": Case(addmm_p, lambda bias, mat1, mat2: mat1 @ mat2 + bias, addmm_layout(), values=vc.addmm_values()),
}

SUB_PROGRAMS: dict[str, Case] = {  # (their NumPy agreement: tests/control/)
    "checkpoint": Case(dt.checkpoint(_body), _body_np, two()),
    "custom_jvp_call": Case(_custom_jvp_body, _body_np, two()),
    "custom_vjp_call": Case(_custom_vjp_body, _body_np, two()),
    "cond": Case(_cond, _cond_np, two(), (MODERATE, MODERATE), (odd_halves, None)),
    "while_loop": Case(_while, _while_np, one(), (MODERATE,)),
    "scan": Case(_scan, _scan_np, scan_layout(), (MODERATE,)),
}

ELEMENTWISE = {**UNARY, **BINARY, **BITWISE, **OTHER_ELEMENTWISE}
FAMILIES = {**LINALG, **SPECTRAL, **CUMULATIVE, **COMPLEX_PARTS, **FFT, **NEURAL}  # (tests/cases_<family>.py)
CASES: dict[str, Case] = {**ELEMENTWISE, **REDUCTIONS, **SHAPES, **CONTRACTIONS, **FAMILIES, **SUB_PROGRAMS}
DIFFERENTIABLE: dict[str, Case] = {name: case for name, case in CASES.items() if case.layout is not None}
EXAMPLES: dict[str, tuple] = {name: case.examples for name, case in CASES.items() if case.examples}
