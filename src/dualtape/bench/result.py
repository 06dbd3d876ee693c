"""What a workload hands back: Markdown-ready tables, notes, the raw numbers (for JSON) and plot specs. Both
show in Jupyter as the Markdown the report writes for them."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field


@dataclass
class Table:
    columns: list[str]
    rows: list[list[str]] = field(default_factory=list)
    title: str = ""

    def _repr_markdown_(self) -> str:
        from .report import table_markdown

        return table_markdown(dataclasses.asdict(self))


@dataclass
class Result:
    """One workload's outcome. `data` holds raw numbers (seconds, bytes, ratios); `plots` holds specs that
    plots.py draws; `grad_over_f` maps a label to {contender: ratio} for the suite-wide bar chart."""

    name: str
    title: str
    tables: list[Table] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    data: dict = field(default_factory=dict)
    plots: list[dict] = field(default_factory=list)
    grad_over_f: dict = field(default_factory=dict)
    skipped: str | None = None
    error: str | None = None
    seconds: float = 0.0

    def _repr_markdown_(self) -> str:
        from .report import workload_markdown

        return workload_markdown(dataclasses.asdict(self))


def us(seconds: float) -> str:
    """Microseconds, as the tables show them."""
    return f"{seconds * 1e6:.2f} us"


def ms(seconds: float) -> str:
    return f"{seconds * 1e3:.2f} ms"


def ratio(a: float, b: float) -> str:
    return f"{a / b:.2f}"
