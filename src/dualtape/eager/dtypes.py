"""PyTorch's dtype names (`dt.float32`, `dt.long`, `dt.bool`, ...) for NumPy's dtypes: what tensor reprs print
(`dtype=dualtape.float64`) and what `dtype=` arguments accept. They live in the `dualtape` namespace only;
code inside the package keeps Python's own `bool`, `int` and `float`."""

import numpy as np

float16 = half = np.float16
float32 = np.float32
float64 = double = np.float64
complex64 = cfloat = np.complex64
complex128 = cdouble = np.complex128
int8 = np.int8
int16 = short = np.int16
int32 = np.int32
int64 = long = np.int64
uint8 = np.uint8
uint16 = np.uint16
uint32 = np.uint32
uint64 = np.uint64
bool = np.bool_  # noqa: A001 - PyTorch's name
float = np.float32  # noqa: A001
int = np.int32  # noqa: A001


def __getattr__(name: str):
    """`bfloat16`: ml_dtypes' type (NumPy has no bfloat16 of its own), imported on first use: it is optional."""
    if name == "bfloat16":
        from ..api.precision import bfloat16

        return bfloat16()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
