"""Autograph: Python control flow on traced values, rewritten into dualtape's structured control flow."""

from .convert import autograph_source, convert, maybe_convert

__all__ = ["autograph_source", "convert", "maybe_convert"]
