"""The per-function table: `FUNCTIONS[name]` is an `FnCase` (tests/function_case.py) for each dnp function
that is a composition of primitives; the primitives themselves are in tests/primitive_cases.py. Each family's
entries are a section in its own file; this module merges them."""

from __future__ import annotations

from function_case import FnCase

SECTIONS: dict[str, dict[str, FnCase]] = {}


def _load_sections() -> None:
    import importlib
    import pathlib

    for path in sorted(pathlib.Path(__file__).parent.glob("functions_*.py")):
        module = importlib.import_module(path.stem)
        SECTIONS[path.stem[len("functions_"):]] = module.SECTION


_load_sections()
FUNCTIONS: dict[str, FnCase] = {name: case for section in SECTIONS.values() for name, case in section.items()}
