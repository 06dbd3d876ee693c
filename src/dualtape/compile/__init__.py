"""`dt.compile`: eager Tensor code (a forward pass, or a whole training step) compiled into one program."""

from .compiled import CompiledFunction, compile  # noqa: A004

__all__ = ["CompiledFunction", "compile"]
