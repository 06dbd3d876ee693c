"""The cumulative section of the per-primitive table (merged into tests/primitive_cases.py's CASES)."""

from __future__ import annotations

from case import Case

CUMULATIVE: dict[str, Case] = {}
