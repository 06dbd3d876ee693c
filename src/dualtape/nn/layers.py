"""Layers with parameters beyond Linear: LayerNorm (normalisation over the trailing dims, with an elementwise
affine map) and Embedding (a lookup table of vectors), initialised as PyTorch's."""

from __future__ import annotations

import numpy as np

from ..eager import grad_mode
from ..eager.factories import DEFAULT_DTYPE, ones, zeros
from . import functional as F
from . import init
from .module import Module
from .parameter import Parameter


class LayerNorm(Module):
    """(x - mean) / sqrt(var + eps) over the trailing dims normalized_shape, times weight plus bias (ones and
    zeros at first) when elementwise_affine."""

    def __init__(self, normalized_shape, eps: float = 1e-5, elementwise_affine: bool = True, bias: bool = True,
                 device=None, dtype=None):
        super().__init__()
        shape = (int(normalized_shape),) if isinstance(normalized_shape, (int, np.integer)) else tuple(
            int(d) for d in normalized_shape)
        self.normalized_shape, self.eps, self.elementwise_affine = shape, eps, elementwise_affine
        dtype = np.dtype(DEFAULT_DTYPE if dtype is None else dtype)
        if elementwise_affine:
            self.weight = Parameter(ones(*shape, dtype=dtype))
            self.bias = Parameter(zeros(*shape, dtype=dtype)) if bias else None
        else:
            self.weight = self.bias = None
        if device is not None:
            self.to(device)

    def forward(self, input):
        return F.layer_norm(input, self.normalized_shape, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return f"{self.normalized_shape}, eps={self.eps}, elementwise_affine={self.elementwise_affine}"


class Embedding(Module):
    """A table of num_embeddings vectors of embedding_dim, ~ N(0, 1) at first (the row padding_idx zero, and it
    gets no gradient): input's integer indices pick rows."""

    def __init__(self, num_embeddings: int, embedding_dim: int, padding_idx=None, device=None, dtype=None):
        super().__init__()
        if padding_idx is not None and not -num_embeddings <= padding_idx < num_embeddings:
            raise ValueError(f"Embedding: padding_idx ({padding_idx}) must be within num_embeddings "
                             f"({num_embeddings})")
        self.num_embeddings, self.embedding_dim = int(num_embeddings), int(embedding_dim)
        self.padding_idx = None if padding_idx is None else int(padding_idx) % self.num_embeddings
        dtype = np.dtype(DEFAULT_DTYPE if dtype is None else dtype)
        self.weight = Parameter(zeros(self.num_embeddings, self.embedding_dim, dtype=dtype))
        init.normal_(self.weight)
        if self.padding_idx is not None:
            with grad_mode.no_grad():
                self.weight[self.padding_idx] = 0.0
        if device is not None:
            self.to(device)

    def forward(self, input):
        return F.embedding(input, self.weight, self.padding_idx)

    def extra_repr(self) -> str:
        padding = "" if self.padding_idx is None else f", padding_idx={self.padding_idx}"
        return f"{self.num_embeddings}, {self.embedding_dim}{padding}"
