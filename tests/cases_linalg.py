"""The linalg section of the per-primitive table (merged into tests/primitive_cases.py's CASES)."""

from __future__ import annotations

from case import Case

LINALG: dict[str, Case] = {}
