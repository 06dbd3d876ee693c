"""More of `nn.functional`, re-exported there: the activations leaky_relu, elu, gelu, silu, softplus and hardtanh,
dropout, layer_norm and embedding. Each is a composition of dnp's ops recorded as the one node PyTorch records
(LeakyReluBackward0, ..., NativeLayerNormBackward0, EmbeddingBackward0), its backward a pullback through the
composition: the registry's rules, nothing written twice."""

from __future__ import annotations

import math

import numpy as np

import dualtape.numpy as dnp

from ..core.trace import trace_of
from ..eager.composite import composite
from ..eager.sampling import rand
from ..eager.tensor import Tensor
from ..errors import ShapeError
from ..ops.elementwise import stop_gradient_p


# ---- activations (module-level functions: composite.py caches one program per function and layout) ------------
def _leaky(x, slope):
    return dnp.where(x > 0, x, x * slope)  # (the slope at 0, as PyTorch's)


def _elu(x, alpha):
    safe = dnp.where(x > 0, 0.0, x)  # (exp of the chosen side only: no inf to multiply by a zero)
    return dnp.where(x > 0, x, alpha * dnp.expm1(safe))


def _gelu(x, approximate):
    if approximate == "tanh":
        return 0.5 * x * (1 + dnp.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x * x * x)))
    return 0.5 * x * (1 + dnp.erf(x * (1 / math.sqrt(2))))


def _silu(x):
    return x * dnp.sigmoid(x)


def _softplus(x, beta, threshold):
    scaled = x * beta
    return dnp.where(scaled > threshold, x, dnp.logaddexp(0.0, scaled) / beta)  # (logaddexp: no overflow)


def _hardtanh(x, low, high):
    inside = (x > low) & (x < high)  # (gradient 0 at the bounds too, as PyTorch's)
    return dnp.where(inside, x, stop_gradient_p(dnp.clip(x, low, high)))


def leaky_relu(input, negative_slope: float = 0.01, inplace: bool = False):
    """x where x > 0, else negative_slope * x."""
    return _activation("LeakyReluBackward0", _leaky, input, inplace, float(negative_slope))


def elu(input, alpha: float = 1.0, inplace: bool = False):
    """x where x > 0, else alpha (e^x - 1)."""
    return _activation("EluBackward0", _elu, input, inplace, float(alpha))


def gelu(input, approximate: str = "none"):
    """x Phi(x), Phi the standard normal CDF (approximate="tanh": PyTorch's tanh approximation)."""
    if approximate not in ("none", "tanh"):
        raise ValueError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")
    return _activation("GeluBackward0", _gelu, input, False, approximate)


def silu(input, inplace: bool = False):
    """x sigmoid(x) (swish)."""
    return _activation("SiluBackward0", _silu, input, inplace)


def softplus(input, beta: float = 1.0, threshold: float = 20.0):
    """log(1 + e^(beta x)) / beta, and x itself where beta x > threshold."""
    return _activation("SoftplusBackward0", _softplus, input, False, float(beta), float(threshold))


def hardtanh(input, min_val: float = -1.0, max_val: float = 1.0, inplace: bool = False):
    """x clamped to [min_val, max_val], its gradient 0 outside (min_val, max_val)."""
    if min_val > max_val:
        raise ValueError(f"hardtanh: min_val ({min_val}) cannot be greater than max_val ({max_val})")
    return _activation("HardtanhBackward0", _hardtanh, input, inplace, float(min_val), float(max_val))


def _activation(node: str, fn, input, inplace: bool, *static):
    out = composite(node, fn, [input], *static)
    return input.copy_(out) if inplace else out


# ---- dropout ---------------------------------------------------------------------------------------------
def dropout(input, p: float = 0.5, training: bool = True, inplace: bool = False):
    """Each element zeroed with probability p and the others scaled by 1 / (1 - p), while training (the mask
    drawn from dt.manual_seed's generator); input itself otherwise."""
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
    if not training or p == 0.0:
        return input
    keep = (rand(*input.shape, dtype=input.dtype, device=input.device) >= p) if p < 1.0 else None
    out = input * 0.0 if keep is None else input * (keep.to(input.dtype) * (1.0 / (1.0 - p)))
    return input.copy_(out) if inplace else out


# ---- layer_norm and embedding --------------------------------------------------------------------------------
def layer_norm(input, normalized_shape, weight=None, bias=None, eps: float = 1e-5):
    """(x - mean) / sqrt(var + eps) over the trailing dims normalized_shape (var biased), then * weight + bias."""
    shape = (int(normalized_shape),) if isinstance(normalized_shape, (int, np.integer)) else tuple(normalized_shape)
    if tuple(input.shape[input.ndim - len(shape):]) != shape or len(shape) > input.ndim:
        raise ShapeError("layer_norm", f"normalized_shape {shape} is not the trailing shape of input {input.shape}",
                         fix=f"pass normalized_shape={tuple(input.shape[-1:])} (the last dim) or the input's "
                         "trailing dims")
    for name, value in (("weight", weight), ("bias", bias)):
        if value is not None and tuple(value.shape) != shape:
            raise ShapeError("layer_norm", f"{name} of shape {tuple(value.shape)} is not normalized_shape {shape}")
    axes = tuple(range(input.ndim - len(shape), input.ndim))
    given = [t for t in (weight, bias) if t is not None]
    return composite("NativeLayerNormBackward0", _normalized, [input, *given], axes, float(eps),
                     weight is not None, bias is not None)


def _normalized(x, *rest):
    *params, axes, eps, has_weight, has_bias = rest
    centred = x - dnp.mean(x, axis=axes, keepdims=True)
    out = centred / dnp.sqrt(dnp.mean(centred * centred, axis=axes, keepdims=True) + eps)
    if has_weight:
        out = out * params[0]
    return out + params[-1] if has_bias else out


def embedding(input, weight, padding_idx=None):
    """weight's rows at the integer indices input (any shape): shape input.shape + (embedding_dim,); the row
    padding_idx gets no gradient."""
    data = getattr(input, "_array", input)
    if np.dtype(getattr(data, "dtype", np.asarray(data).dtype)).kind not in "iu":
        raise TypeError(f"embedding: indices must be an integer tensor, got dtype {getattr(input, 'dtype', None)}; "
                        "pass token ids as integers (e.g. ids.long())")
    if weight.ndim != 2:
        raise ShapeError("embedding", f"weight must be a matrix (num_embeddings, embedding_dim), got {weight.shape}")
    rows = weight.shape[0]
    if trace_of(data) is None and np.size(data) and not (-rows <= np.min(data) and np.max(data) < rows):
        raise IndexError(f"embedding: index out of range in self: indices from {np.min(data)} to {np.max(data)} "
                         f"for {rows} embeddings")
    if padding_idx is not None:
        padding_idx = int(padding_idx) + rows if padding_idx < 0 else int(padding_idx)
    index = input if isinstance(input, Tensor) else np.asarray(data)
    return composite("EmbeddingBackward0", _embedded, [weight, index], padding_idx)


def _embedded(weight, index, padding_idx):
    rows = weight[index]
    if padding_idx is None:
        return rows
    return dnp.where(dnp.expand_dims(index == padding_idx, -1), stop_gradient_p(rows), rows)
