"""Every primitive in the registry has a NumPy-agreement case: each tests/ops/test_*.py module declares its
cases in a CASES dict keyed by primitive name, and this test fails when a registered primitive has none (or a
case names a primitive that does not exist), so no primitive lands untested."""

import importlib
from pathlib import Path

from dualtape.core.primitive import REGISTRY


def _all_cases() -> dict:
    cases: dict = {}
    for path in sorted(Path(__file__).parent.glob("test_*.py")):
        module = importlib.import_module(path.stem)
        for name in getattr(module, "CASES", {}):
            assert name not in cases, f"primitive {name} has cases in two modules"
            cases[name] = path.name
    return cases


def test_every_primitive_has_a_case():
    """(Primitives over sub-programs are tested in tests/control/: test_subprograms.py, test_flow.py.)"""
    cases = _all_cases()
    over_sub_programs = {name for name, p in REGISTRY.items() if p.inline_param or p.emit_statements}
    missing = sorted(set(REGISTRY) - over_sub_programs - set(cases))
    unknown = sorted(set(cases) - set(REGISTRY))
    assert not missing, f"primitives without a NumPy-agreement case in tests/ops: {missing}"
    assert not unknown, f"cases for primitives that are not registered: {unknown}"
