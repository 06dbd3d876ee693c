"""The per-primitive table's section for the complex-parts rows (real, imag, conj: ops/complex_parts.py). The
generic suites draw real float operands, so each entry builds a complex value from two of them (z = x + i y,
times a fixed complex factor so that x and y both reach both parts) and applies the row: the derivatives of the
row's complex rules are then checked, in both modes, through real inputs. The suite of complex inputs to every
primitive that takes them is tests/transforms/test_complex.py."""

from __future__ import annotations

import numpy as np

import dualtape.numpy as dnp
import value_cases as vc
from case import Case
from layouts import two
from strategies import ANY

W = 0.75 - 0.5j  # (a fixed factor, so that each real operand moves both parts)
FLOATS = (np.dtype(np.float32), np.dtype(np.float64))


def _entry(dt_part, np_part) -> Case:
    fn = lambda x, y: dt_part(dnp.multiply(dnp.add(x, dnp.multiply(y, 1j)), W))
    ref = lambda x, y: np_part((np.asarray(x) + 1j * np.asarray(y)) * W)
    return Case(fn, ref, two(), (ANY,), (None,), values=vc.binary_values(fn, ref, ANY, ANY, FLOATS, (float,)),
                value_domains=(ANY, ANY), dtypes=FLOATS)


COMPLEX_PARTS: dict[str, Case] = {
    "real": _entry(dnp.real, np.real),
    "imag": _entry(dnp.imag, np.imag),
    "conj": _entry(lambda z: dnp.real(dnp.conj(z) * (0.3 + 2j)), lambda z: np.real(np.conj(z) * (0.3 + 2j))),
}
