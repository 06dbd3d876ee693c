"""How tensors print: PyTorch's text, character for character, with `dualtape.` where PyTorch writes `torch.` in
dtype names. The rules are PyTorch's: one format per tensor, chosen from its nonzero finite values (whole numbers
print as `2.`; scientific notation when the largest is over 1000 times the smallest, over 1e8, or under 1e-4;
otherwise `precision` decimals), columns padded to one width, lines wrapped at `linewidth`, tensors of over
`threshold` elements summarised to `edgeitems` per edge around `...`, and the suffixes (`device=`, `size=`,
`dtype=` unless float32, complex64, int64 or bool, `grad_fn=` or `requires_grad=True`) wrapped onto a new line
where PyTorch's would pass `linewidth` (so the text with `torch.` for `dualtape.` is PyTorch's exactly).
`dt.set_printoptions` sets the options, globally as PyTorch's."""

from __future__ import annotations

import contextlib
import dataclasses
import math

import numpy as np

from ..core.primitive import trace_of
from . import devices as _device


@dataclasses.dataclass
class PrintOptions:
    """The options of dt.set_printoptions (PyTorch's defaults); sci_mode None: chosen per tensor."""

    precision: int = 4
    threshold: float = 1000
    edgeitems: int = 3
    linewidth: int = 80
    sci_mode: bool | None = None


OPTIONS = PrintOptions()
_PROFILES = {"default": (4, 1000, 3, 80), "short": (2, 1000, 2, 80), "full": (4, math.inf, 3, 80)}
_DEFAULT_DTYPES = frozenset(np.dtype(d) for d in (np.float32, np.complex64, np.int64, np.bool_))


def set_printoptions(precision=None, threshold=None, edgeitems=None, linewidth=None, profile=None,
                     sci_mode=None) -> None:
    """Set how tensors print (PyTorch's torch.set_printoptions): digits after the point, the element count
    above which tensors are summarised, the elements kept per edge, the line width, and scientific notation
    (True, False, or None to choose per tensor); profile "default", "short" or "full" sets the first four."""
    if profile is not None:
        if profile not in _PROFILES:
            raise ValueError(f"set_printoptions: profile must be one of {sorted(_PROFILES)}, got {profile!r}")
        OPTIONS.precision, OPTIONS.threshold, OPTIONS.edgeitems, OPTIONS.linewidth = _PROFILES[profile]
    for name, value in (("precision", precision), ("threshold", threshold), ("edgeitems", edgeitems),
                        ("linewidth", linewidth)):
        if value is not None:
            setattr(OPTIONS, name, value)
    OPTIONS.sci_mode = sci_mode  # (as PyTorch: left out, it goes back to being chosen per tensor)


def get_printoptions() -> dict:
    """The current print options, as keyword arguments of set_printoptions."""
    return dataclasses.asdict(OPTIONS)


@contextlib.contextmanager
def printoptions(**options):
    """Print options set for the duration of a with block."""
    saved = get_printoptions()
    set_printoptions(**options)
    try:
        yield
    finally:
        set_printoptions(**saved)


def _is_floating(dtype) -> bool:
    return dtype.kind == "f" or dtype.name == "bfloat16"


class _Format:
    """PyTorch's formatter: one width and one style (integer-valued, scientific or fixed) for all the values
    shown of one tensor (or of its real or imaginary parts)."""

    def __init__(self, values: np.ndarray):
        self.floating = _is_floating(values.dtype)
        self.whole, self.sci, self.width = True, False, 1
        flat = values.reshape(-1)
        if not self.floating:
            self.width = max([1] + [len(str(v)) for v in flat.tolist()])
            return
        flat = flat.astype(np.float64)
        shown = flat[np.isfinite(flat) & (flat != 0)]
        if shown.size == 0:
            return
        magnitudes = np.abs(shown)
        low, high = magnitudes.min(), magnitudes.max()
        self.whole = bool(np.all(shown == np.ceil(shown)))
        self.sci = bool(high / low > 1000.0 or high > 1.0e8 or low < 1.0e-4) if OPTIONS.sci_mode is None \
            else bool(OPTIONS.sci_mode)
        p = OPTIONS.precision
        if self.sci:
            self.width = max(len(f"{v:.{p}e}") for v in shown.tolist())
        elif self.whole:
            self.width = max(len(f"{v:.0f}") + 1 for v in shown.tolist())
        else:
            self.width = max(len(f"{v:.{p}f}") for v in shown.tolist())

    def __call__(self, value) -> str:
        if not self.floating:
            text = str(value)
        elif self.sci:
            text = f"{value:{self.width}.{OPTIONS.precision}e}"
        elif self.whole:
            text = f"{value:.0f}" + ("" if math.isinf(value) or math.isnan(value) else ".")
        else:
            text = f"{value:.{OPTIONS.precision}f}"
        return " " * (self.width - len(text)) + text


def _python_values(values: np.ndarray) -> list:
    """The values as Python numbers (floats exactly as stored: float16 and bfloat16 through float64)."""
    if _is_floating(values.dtype):
        values = values.astype(np.float64)
    return values.tolist()


def _element(value, real: _Format, imag: _Format | None) -> str:
    if imag is None:
        return real(value)
    imag_text = (imag(value.imag) + "j").lstrip()
    return real(value.real) + (imag_text if imag_text[0] in "+-" else "+" + imag_text)


def _vector(values: np.ndarray, indent: int, summarize: bool, real: _Format, imag: _Format | None) -> str:
    edge = OPTIONS.edgeitems
    per_line = max(1, math.floor((OPTIONS.linewidth - indent) / (real.width + 2 + (imag.width + 1 if imag else 0))))
    shown = lambda part: [_element(v, real, imag) for v in _python_values(part)]
    if summarize and not edge:
        items = ["..."]
    elif summarize and len(values) > 2 * edge:
        items = shown(values[:edge]) + [" ..."] + shown(values[-edge:])
    else:
        items = shown(values)
    lines = [", ".join(items[i:i + per_line]) for i in range(0, len(items), per_line)]
    return "[" + (",\n" + " " * (indent + 1)).join(lines) + "]"


def _nested(values: np.ndarray, indent: int, summarize: bool, real: _Format, imag: _Format | None) -> str:
    if values.ndim == 0:
        return _element(_python_values(values), real, imag)
    if values.ndim == 1:
        return _vector(values, indent, summarize, real, imag)
    edge, n = OPTIONS.edgeitems, len(values)
    rows = range(n)
    if summarize and n > 2 * edge:
        rows = [*range(edge), None, *range(n - edge, n)]
    parts = ["..." if i is None else _nested(values[i], indent + 1, summarize, real, imag) for i in rows]
    return "[" + ("," + "\n" * (values.ndim - 1) + " " * (indent + 1)).join(parts) + "]"


def _summarized(values: np.ndarray) -> np.ndarray:
    """The values a summarised tensor shows (edgeitems per edge of every dimension), for choosing the format."""
    edge = OPTIONS.edgeitems
    if values.ndim == 0:
        return values
    if values.ndim == 1:
        return np.concatenate([values[:edge], values[-edge:]]) if len(values) > 2 * edge else values
    if not edge:
        return values[(slice(0, 0),) * values.ndim]
    rows = [*range(edge), *range(len(values) - edge, len(values))] if len(values) > 2 * edge else range(len(values))
    return np.stack([_summarized(values[i]) for i in rows])


def array_text(values: np.ndarray, indent: int) -> str:
    """The bracketed body of a tensor's text (`[[1., 2.], ...]`), lines after the first indented by indent."""
    if values.size == 0:
        return "[]"
    summarize = values.size > OPTIONS.threshold
    chosen = _summarized(values) if summarize else values
    if values.dtype.kind == "c":
        return _nested(values, indent, summarize, _Format(chosen.real), _Format(chosen.imag))
    return _nested(values, indent, summarize, _Format(chosen), None)


def _with_suffixes(text: str, suffixes: list, indent: int) -> str:
    """text, then each suffix after `, ` or, where it would pass linewidth, on a line of its own. Lengths are
    measured as PyTorch's spelling (`torch.` for `dualtape.`), so the lines break where PyTorch's do."""
    pieces, last_line = [text], len(text) - text.rfind("\n") + 1  # (PyTorch's measure, kept as it is)
    for suffix in suffixes:
        length = len(suffix.replace("dualtape.", "torch."))
        if last_line + length + 2 > OPTIONS.linewidth:
            pieces.append(",\n" + " " * indent + suffix)
            last_line = indent + length
        else:
            pieces.append(", " + suffix)
            last_line += length + 2
    return "".join(pieces) + ")"


def tensor_text(t) -> str:
    """repr(t) and str(t), as PyTorch writes them."""
    prefix = "tensor("
    indent, suffixes = len(prefix), []
    array, dtype = t._array, np.dtype(t.dtype)
    if _device.is_device_array(array):
        suffixes.append(f"device='{t.device}'")
    if trace_of(array) is not None:  # (printed while tracing, as JAX prints a tracer)
        body = f"<traced {array.aval}>"
        if dtype not in _DEFAULT_DTYPES:
            suffixes.append(f"dtype=dualtape.{dtype.name}")
    else:
        values = np.asarray(_device.host(array))
        if values.size == 0:
            if values.ndim != 1:
                suffixes.append(f"size={tuple(values.shape)}")
            if dtype != np.float32:  # (no values to tell an empty tensor's dtype by)
                suffixes.append(f"dtype=dualtape.{dtype.name}")
        else:
            if not OPTIONS.edgeitems:
                suffixes.append(f"size={tuple(values.shape)}")
            if dtype not in _DEFAULT_DTYPES:
                suffixes.append(f"dtype=dualtape.{dtype.name}")
        body = array_text(values, indent)
    try:
        node = t.grad_fn
        name = None if node is None else node.name()
    except RuntimeError:  # (a view whose grad_fn cannot be made again: PyTorch prints it so)
        name = "Invalid"
    if name is not None:
        suffixes.append(f"grad_fn=<{name}>")
    elif t.requires_grad:
        suffixes.append("requires_grad=True")
    return _with_suffixes(prefix + body, suffixes, indent)
